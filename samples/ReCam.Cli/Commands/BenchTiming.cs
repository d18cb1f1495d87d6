using System.Diagnostics;
using ReCam.Training;

namespace ReCam.Cli.Commands;

/// <summary>What the bench commands share: the median of timed repetitions, and a progress callback adapter.</summary>
internal static class BenchTiming
{
    /// <summary>Median wall-clock seconds of <paramref name="repetitions"/> runs of <paramref name="action"/> (no warm-up here).</summary>
    public static double MedianSeconds(int repetitions, Action action, CancellationToken token)
    {
        var times = new List<double>();
        for (int i = 0; i < repetitions; i++)
        {
            token.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            action();
            times.Add(watch.Elapsed.TotalSeconds);
        }
        return Median(times);
    }

    /// <summary>The median of <paramref name="values"/> (the upper one of an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>An <see cref="IProgress{T}"/> that calls <paramref name="report"/> synchronously, on the training thread.</summary>
    public sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        /// <inheritdoc />
        public void Report(TrainingProgress value) => report(value);
    }
}
