using System.Diagnostics;
using static TorchSharp.torch;

namespace ReCam.Training;

/// <summary>
/// The classification training loop shared by train-cam and train-recam: per epoch a seeded shuffle,
/// batches of augmented crops (drop-last, as the official DataLoader), one step per batch inside its own
/// dispose scope, progress per step, a callback per epoch. The next batch is prepared on a worker
/// thread while the current step runs. Randomness of epoch e depends only on (seed, e), so a run resumed
/// from an epoch checkpoint sees the same batches as an uninterrupted one.
/// </summary>
internal sealed class TrainingLoop
{
    private readonly ISampleSource _source;

    /// <summary>Creates the loop over classification samples (images and multi-hot labels, the official augmentation).</summary>
    public TrainingLoop(IReadOnlyList<TrainingSample> samples, int classCount, ClassificationAugmentation augmentation,
        int batchSize, int epochs, int seed, Device device)
        : this(new ClassificationSamples(samples, classCount, augmentation), batchSize, epochs, seed, device)
    {
    }

    /// <summary>Creates the loop over any sample source.</summary>
    public TrainingLoop(ISampleSource source, int batchSize, int epochs, int seed, Device device)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be at least 1.");
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Epochs must be at least 1.");
        if (source.Count < batchSize)
            throw new ArgumentException($"{source.Count} training image(s) is fewer than one batch of {batchSize}; lower --batch.", nameof(source));
        _source = source;
        BatchSize = batchSize;
        Epochs = epochs;
        Seed = seed;
        Device = device;
    }

    /// <summary>Images per step.</summary>
    public int BatchSize { get; }

    /// <summary>Number of epochs.</summary>
    public int Epochs { get; }

    /// <summary>Base random seed.</summary>
    public int Seed { get; }

    /// <summary>Device the batches are moved to.</summary>
    public Device Device { get; }

    /// <summary>Steps per epoch: ⌊N / batch⌋ (the last partial batch is dropped).</summary>
    public long StepsPerEpoch => _source.Count / BatchSize;

    /// <summary>Steps of the whole run (the poly schedule's max_step).</summary>
    public long TotalSteps => StepsPerEpoch * Epochs;

    /// <summary>Runs epochs <see cref="TrainingHooks.StartEpoch"/>+1 .. Epochs.</summary>
    /// <param name="step">Does one optimisation step on (images, labels) at the given 0-based global step.</param>
    /// <param name="hooks">Progress per step, the epoch means after each epoch, the epoch to resume after, cancellation.</param>
    /// <param name="optimizer">The optimiser of the steps: its state is offered at each epoch end, and restored first on resume.</param>
    public void Run(Func<Tensor, Tensor, long, StepMetrics> step, TrainingHooks hooks, PolyOptimizer optimizer)
    {
        var epochMeans = new EpochAccumulator();
        if (hooks.OptimizerState is { } state) optimizer.LoadState(state);
        for (int epoch = hooks.StartEpoch + 1; epoch <= Epochs; epoch++)
        {
            var random = new Random(EpochSeed(Seed, epoch));
            var order = Enumerable.Range(0, _source.Count).ToArray();
            random.Shuffle(order);
            var watch = Stopwatch.StartNew();
            long firstStep = (epoch - 1) * StepsPerEpoch;
            Task<(float[] Images, float[] Labels)> next = Task.Run(() => MakeBatch(order, 0, random));
            for (int b = 0; b < StepsPerEpoch; b++)
            {
                hooks.CancellationToken.ThrowIfCancellationRequested();
                var batch = next.GetAwaiter().GetResult();
                if (b + 1 < StepsPerEpoch)
                {
                    int nextIndex = b + 1;
                    next = Task.Run(() => MakeBatch(order, nextIndex, random));
                }
                StepMetrics metrics;
                using (var scope = NewDisposeScope())
                {
                    var images = tensor(batch.Images, [BatchSize, 3, _source.Crop, _source.Crop]).to(Device);
                    var labels = tensor(batch.Labels, [BatchSize, .. _source.TargetShape]).to(Device);
                    metrics = step(images, labels, firstStep + b);
                }
                epochMeans.Add(metrics);
                double ips = (b + 1) * BatchSize / Math.Max(1e-9, watch.Elapsed.TotalSeconds);
                hooks.Progress?.Report(new TrainingProgress(epoch, Epochs, firstStep + b + 1, TotalSteps, ips, metrics));
            }
            hooks.EpochEnd?.Invoke(epochMeans.Finish(epoch, Epochs, watch.Elapsed.TotalSeconds), optimizer.SaveState);
        }
    }

    /// <summary>
    /// The seed of epoch <paramref name="epoch"/>: a fixed mix (SplitMix64) of the run's seed and the epoch, the same in every
    /// process (unlike <see cref="HashCode.Combine{T1, T2}"/>, which is randomised per process).
    /// </summary>
    internal static int EpochSeed(int seed, int epoch)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)epoch) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    private (float[] Images, float[] Labels) MakeBatch(int[] order, int batchIndex, Random random)
    {
        int plane = 3 * _source.Crop * _source.Crop;
        int target = (int)_source.TargetShape.Aggregate(1L, (a, b) => a * b);
        var images = new float[BatchSize * plane];
        var labels = new float[BatchSize * target];
        for (int i = 0; i < BatchSize; i++)
            _source.Write(order[batchIndex * BatchSize + i], random, images.AsSpan(i * plane, plane), labels.AsSpan(i * target, target));
        return (images, labels);
    }
}

/// <summary>Where a training loop's samples come from: an augmented image and its target, drawn in the loop's order.</summary>
internal interface ISampleSource
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Side of the square image crop.</summary>
    int Crop { get; }

    /// <summary>Shape of one sample's target (the batch dimension is added in front).</summary>
    long[] TargetShape { get; }

    /// <summary>Writes sample <paramref name="index"/>, augmented with draws from <paramref name="random"/>, as CHW image and target.</summary>
    void Write(int index, Random random, Span<float> image, Span<float> target);
}

/// <summary>Images with multi-hot labels under the official classification augmentation.</summary>
internal sealed class ClassificationSamples : ISampleSource
{
    private readonly IReadOnlyList<TrainingSample> _samples;
    private readonly ClassificationAugmentation _augmentation;
    private readonly ImageCache _cache = new();

    public ClassificationSamples(IReadOnlyList<TrainingSample> samples, int classCount, ClassificationAugmentation augmentation)
    {
        foreach (var s in samples)
        {
            if (s.Labels.Length != classCount)
                throw new ArgumentException($"Image '{s.Id}' has {s.Labels.Length} label values; expected {classCount}.", nameof(samples));
        }
        (_samples, _augmentation, TargetShape) = (samples, augmentation, [classCount]);
    }

    public int Count => _samples.Count;

    public int Crop => _augmentation.Crop;

    public long[] TargetShape { get; }

    public void Write(int index, Random random, Span<float> image, Span<float> target)
    {
        var sample = _samples[index];
        _augmentation.Apply(sample.Image ?? _cache.Get(sample.ImagePath), random, image);
        sample.Labels.CopyTo(target);
    }
}
