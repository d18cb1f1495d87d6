using ReCam.Networks;
using static TorchSharp.torch;

namespace ReCam.Training;

/// <summary>
/// train-deeplab: fits a <see cref="DeepLabNetwork"/> to masks with pixel-wise cross-entropy (255 ignored), the logits
/// upsampled to the crop (bilinear) rather than the masks shrunk to the logits as the reference does: at our small crops
/// the output-stride grid is too coarse to carry thin objects.
/// </summary>
public static class DeepLabTrainer
{
    /// <summary>The mask value that takes no part in the loss.</summary>
    public const int IgnoreLabel = 255;

    /// <summary>Trains <paramref name="network"/> in place.</summary>
    /// <exception cref="InvalidOptionException">An option is invalid.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="InvalidDataException">A mask does not fit its image or has a value above the class count.</exception>
    public static void Train(DeepLabNetwork network, IReadOnlyList<LabelledImage> samples, DeepLabTrainingOptions options, Device device,
        TrainingHooks? hooks = null)
    {
        options.Validate();
        var source = new SegmentationSamples(samples, options.Crop, options.RandomScales, network.LabelCount, network.Spec.Normalization);
        var loop = new TrainingLoop(source, options.BatchSize, options.EpochsFor(samples.Count), options.Seed, device);
        using var step = new DeepLabTrainingStep(network, options);
        try
        {
            loop.Run((images, labels, t) =>
            {
                // DeepLab-v3's dropout masks follow (seed, epoch) like the batches, not torch's process-wide generator: a run
                // resumed from an epoch checkpoint then draws the same masks as an uninterrupted one.
                if (t % loop.StepsPerEpoch == 0) network.ReseedTraining(TrainingLoop.EpochSeed(options.Seed, (int)(t / loop.StepsPerEpoch) + 1));
                return step.Run(images, labels, t, loop.TotalSteps);
            }, hooks ?? new TrainingHooks(), step.Optimizer);
        }
        finally
        {
            network.eval();
        }
    }
}

/// <summary>One train-deeplab step: full-resolution logits, cross-entropy over the labelled pixels, backward, the SGD update.</summary>
internal sealed class DeepLabTrainingStep : IDisposable
{
    private readonly DeepLabNetwork _network;
    private readonly DeepLabTrainingOptions _options;

    public DeepLabTrainingStep(DeepLabNetwork network, DeepLabTrainingOptions options)
    {
        _network = network;
        _options = options;
        network.train();
        Optimizer = new PolyOptimizer(
            [(network.BackboneParameters(), options.LearningRate), (network.HeadParameters(), options.LearningRate * options.HeadRateMultiplier)], options);
    }

    public PolyOptimizer Optimizer { get; }

    public StepMetrics Run(Tensor images, Tensor labels, long step, long totalSteps)
    {
        double rate = Optimizer.Prepare(step, totalSteps);
        var loss = Loss(_network.FullResolutionLogits(images), labels, _options.IgnoredBackgroundAt(step, totalSteps));
        float value = loss.item<float>();
        if (!float.IsFinite(value))
            throw new TrainingDivergedException($"train-deeplab diverged at step {step + 1} of {totalSteps} (loss {value}); lower the learning rate (--lr).");
        loss.backward();
        Optimizer.Step();
        return new StepMetrics(value, rate);
    }

    /// <summary>
    /// Mean cross-entropy over the pixels whose label is not 255, leaving out the <paramref name="ignoredBackground"/> fraction
    /// of background-labelled pixels with the highest loss; 0 (with gradient) when a batch has no pixel left.
    /// </summary>
    internal static Tensor Loss(Tensor logits, Tensor labels, double ignoredBackground = 0)
    {
        using var scope = NewDisposeScope();
        var target = labels.to_type(ScalarType.Int64);
        var perPixel = nn.functional.cross_entropy(logits, target, ignore_index: DeepLabTrainer.IgnoreLabel, reduction: nn.Reduction.None);
        var counted = target.ne(DeepLabTrainer.IgnoreLabel);
        var background = target.eq(0);
        long backgroundPixels = background.sum().item<long>();
        int ignored = (int)Math.Min(int.MaxValue, (long)(ignoredBackground * backgroundPixels));
        if (ignored > 0)
        {
            // The ignored-th highest background loss is the cut; ties at the cut go too.
            var cut = perPixel.masked_select(background).topk(ignored).values.min();
            counted = counted.logical_and(background.logical_and(perPixel.ge(cut)).logical_not());
        }
        var sum = perPixel.masked_fill(counted.logical_not(), 0).sum();
        return (sum / counted.sum().clamp_min(1).to_type(logits.dtype)).MoveToOuterDisposeScope();
    }

    public void Dispose() => Optimizer.Dispose();
}
