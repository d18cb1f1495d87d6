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
        network.FreezeStem();
        network.train();
        double lr = options.LearningRateFor(network.Spec);
        using var optimizer = new PolyOptimizer(
            [(network.BackboneTrainableParameters(), lr), (network.ClassifierParameters(), options.ClassifierLearningRateFor(network.Spec))], options);

        loop.Run((images, labels, step) =>
        {
            double rate = optimizer.Prepare(step, loop.TotalSteps);
            var loss = nn.functional.binary_cross_entropy_with_logits(network.call(images), labels);
            float value = loss.item<float>();
            if (!float.IsFinite(value))
                throw new TrainingDivergedException(
                    $"train-cam diverged at step {step + 1} of {loop.TotalSteps} (loss {value}); lower the learning rate (--lr / LearningRate, now {lr}).");
            loss.backward();
            optimizer.Step();
            return new StepMetrics(value, rate);
        }, hooks ?? new TrainingHooks(), optimizer);
        network.eval();
    }
}
