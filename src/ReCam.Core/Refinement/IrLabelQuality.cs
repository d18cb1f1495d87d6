using System.Text.Json;
using ReCam.Imaging;

namespace ReCam.Refinement;

/// <summary>
/// How good IR labels are against ground-truth masks: the precision of the confident pixels (foreground and
/// background apart) and the share of pixels left unsure. Pixels the mask ignores (255) are not counted.
/// </summary>
public sealed class IrLabelQuality
{
    private long _foreground, _foregroundRight, _background, _backgroundRight, _unsure, _pixels;

    /// <summary>Images added.</summary>
    public int Images { get; private set; }

    /// <summary>Share of confident pixels whose label is the mask's.</summary>
    public double Precision => Ratio(_foregroundRight + _backgroundRight, _foreground + _background);

    /// <summary>Share of confident object pixels whose class is the mask's.</summary>
    public double ForegroundPrecision => Ratio(_foregroundRight, _foreground);

    /// <summary>Share of confident background pixels that are background in the mask.</summary>
    public double BackgroundPrecision => Ratio(_backgroundRight, _background);

    /// <summary>Share of pixels marked unsure.</summary>
    public double UnsureShare => Ratio(_unsure, _pixels);

    /// <summary>Adds one image's IR label and mask (same size).</summary>
    public void Add(LabelMap irLabel, LabelMap mask)
    {
        if (irLabel.Width != mask.Width || irLabel.Height != mask.Height)
            throw new ArgumentException($"IR label {irLabel.Width}x{irLabel.Height} and mask {mask.Width}x{mask.Height} differ in size.");
        var ir = irLabel.Values;
        var gt = mask.Values;
        for (int i = 0; i < ir.Length; i++)
        {
            if (gt[i] == 255) continue;
            _pixels++;
            if (ir[i] == IrLabel.Unsure) _unsure++;
            else if (ir[i] == 0) { _background++; if (gt[i] == 0) _backgroundRight++; }
            else { _foreground++; if (gt[i] == ir[i]) _foregroundRight++; }
        }
        Images++;
    }

    /// <summary>The figures as JSON (shares in [0, 1]).</summary>
    public string ToJson(double foregroundThreshold, double backgroundThreshold, string maps) =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["maps"] = maps, ["foreground_threshold"] = Math.Round(foregroundThreshold, 4), ["background_threshold"] = Math.Round(backgroundThreshold, 4),
            ["images"] = Images, ["precision"] = Math.Round(Precision, 4), ["foreground_precision"] = Math.Round(ForegroundPrecision, 4),
            ["background_precision"] = Math.Round(BackgroundPrecision, 4), ["unsure_share"] = Math.Round(UnsureShare, 4),
        }, new JsonSerializerOptions { WriteIndented = true });

    private static double Ratio(long a, long b) => b == 0 ? 0 : (double)a / b;
}
