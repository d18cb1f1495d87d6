namespace ReCam.Training;

/// <summary>
/// The official poly learning-rate schedule: before the update at 0-based step t,
/// lr = lr0 · (1 − t / maxStep)^power (power 0.9).
/// </summary>
public static class PolySchedule
{
    /// <summary>The multiplier (1 − t/maxStep)^power, clamped at 0 past the end.</summary>
    public static double Factor(long step, long maxStep, double power = 0.9) =>
        maxStep <= 0 ? 1.0 : Math.Pow(Math.Max(0.0, 1.0 - (double)step / maxStep), power);
}
