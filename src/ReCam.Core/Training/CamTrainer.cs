using ReCam.Networks;
using static TorchSharp.torch;

namespace ReCam.Training;

/// <summary>
/// train-cam: fits the multi-label CAM classifier with the multi-label soft-margin loss (mean sigmoid
/// binary cross-entropy), SGD with per-group learning rates (backbone / classifier), weight decay and
/// the poly schedule updated before every step. conv1 and bn1 stay frozen; batch norms use their
/// stored statistics.
/// </summary>
public static class CamTrainer
{
    /// <summary>Trains <paramref name="network"/> in place.</summary>
    /// <param name="network">The network, already on <paramref name="device"/>.</param>
    /// <param name="samples">Training images and labels.</param>
    /// <param name="options">Training options (validated here; learning rates resolved from the network's backbone).</param>
    /// <param name="device">Device to train on.</param>
    /// <param name="hooks">Progress, epoch callback (checkpointing), resume point and cancellation.</param>
    /// <exception cref="InvalidOptionException">An option is invalid.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    public static void Train(CamNetwork network, IReadOnlyList<TrainingSample> samples, CamTrainingOptions options, Device device,
        TrainingHooks? hooks = null)
    {
        options.Validate();
        var loop = new TrainingLoop(samples, network.ClassCount, ClassificationAugmentation.For(options, network.Normalization),
            options.BatchSize, options.Epochs, options.Seed, device);
        using var step = new CamTrainingStep(network, options);
        loop.Run((images, labels, t) => step.Run(images, labels, t, loop.TotalSteps), hooks ?? new TrainingHooks(), step.Optimizer);
        network.eval();
    }
}

/// <summary>
/// One official train_cam step on a batch: the poly rates for the step, the multi-label soft-margin loss of the logits, backward,
/// the SGD update. Separate from the loop so that a test can run it on a given batch and compare it with PyTorch.
/// </summary>
internal sealed class CamTrainingStep : IDisposable
{
    private readonly CamNetwork _network;
    private readonly double _learningRate;

    /// <summary>Freezes the stem, puts the network in training mode and builds the two-group optimiser.</summary>
    public CamTrainingStep(CamNetwork network, CamTrainingOptions options)
    {
        _network = network;
        network.FreezeStem();
        network.train();
        _learningRate = options.LearningRateFor(network.Spec);
        Optimizer = new PolyOptimizer(
            [(network.BackboneTrainableParameters(), _learningRate), (network.ClassifierParameters(), options.ClassifierLearningRateFor(network.Spec))], options, options.WarmupStepsFor(network.Spec));
    }

    /// <summary>The optimiser (backbone group, classifier group).</summary>
    public PolyOptimizer Optimizer { get; }

    /// <summary>Runs 0-based step <paramref name="step"/> of <paramref name="totalSteps"/>; the gradients stay on the parameters until the next step.</summary>
    /// <exception cref="TrainingDivergedException">The loss is NaN or infinite.</exception>
    public StepMetrics Run(Tensor images, Tensor labels, long step, long totalSteps)
    {
        double rate = Optimizer.Prepare(step, totalSteps);
        var loss = nn.functional.binary_cross_entropy_with_logits(_network.call(images), labels);
        float value = loss.item<float>();
        if (!float.IsFinite(value))
            throw new TrainingDivergedException(
                $"train-cam diverged at step {step + 1} of {totalSteps} (loss {value}); lower the learning rate (--lr / LearningRate, now {_learningRate}).");
        loss.backward();
        Optimizer.Step();
        return new StepMetrics(value, rate);
    }

    /// <inheritdoc />
    public void Dispose() => Optimizer.Dispose();
}
