using ReCam.Networks;
using TorchSharp;
using TorchSharp.Modules;
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
    /// <param name="normalization">The backbone's input convention.</param>
    /// <param name="options">Training options.</param>
    /// <param name="device">Device to train on.</param>
    /// <param name="startEpoch">Epochs already done (resume), 0 for a fresh run.</param>
    /// <param name="epochEnd">Called after each epoch (checkpointing).</param>
    /// <param name="progress">Per-step progress.</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    public static void Train(CamNetwork network, IReadOnlyList<TrainingSample> samples, InputNormalization normalization,
        CamTrainingOptions options, Device device, int startEpoch = 0, Action<int>? epochEnd = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (min, max) = options.EffectiveResizeLong;
        var loop = new TrainingLoop(samples, network.ClassCount, new ClassificationAugmentation(options.Crop, min, max, normalization),
            options.BatchSize, options.Epochs, options.Seed, device);

        network.FreezeStem();
        network.train();
        var groups = new[]
        {
            new SGD.ParamGroup(network.BackboneTrainableParameters(), lr: options.LearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay),
            new SGD.ParamGroup(network.ClassifierParameters(), lr: options.ClassifierLearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay),
        };
        double[] baseRates = [options.LearningRate, options.ClassifierLearningRate];
        using var optimizer = optim.SGD(groups, options.LearningRate, options.Momentum);

        loop.Run(startEpoch, (images, labels, step) =>
        {
            double factor = PolySchedule.Factor(step, loop.TotalSteps, options.PolyPower);
            int g = 0;
            foreach (var group in optimizer.ParamGroups) group.LearningRate = baseRates[g++] * factor;
            optimizer.zero_grad();
            var logits = network.call(images);
            var loss = nn.functional.binary_cross_entropy_with_logits(logits, labels);
            float value = loss.item<float>();
            if (!float.IsFinite(value))
                throw new TrainingDivergedException(
                    $"train-cam diverged at step {step + 1} of {loop.TotalSteps} (loss {value}); lower the learning rate (--lr, now {options.LearningRate}).");
            loss.backward();
            optimizer.step();
            return new StepResult(value, new Dictionary<string, double> { ["lr"] = baseRates[0] * factor });
        }, epoch => epochEnd?.Invoke(epoch), progress, cancellationToken);
        network.eval();
    }
}
