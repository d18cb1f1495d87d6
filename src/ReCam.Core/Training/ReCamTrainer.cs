using ReCam.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Training;

/// <summary>
/// train-recam: re-activates a CAM network. Per step: F = backbone(x); L_BCE on W1·GAP(F); soft masks
/// M_k = ReLU(W1_k·F)/(max + 1e-5) pool F into class features f_k; L_SCE = softmax cross-entropy of
/// W2·f_k against k for the present classes; L = L_BCE + λ·L_SCE, nothing detached, so the SCE term
/// reaches W2, W1 (through the masks) and the backbone. Optional head warm-up epochs first train W2 alone.
/// </summary>
public static class ReCamTrainer
{
    /// <summary>Trains <paramref name="network"/> and <paramref name="head"/> in place (both on <paramref name="device"/>).</summary>
    public static void Train(CamNetwork network, ReCamHead head, IReadOnlyList<TrainingSample> samples, InputNormalization normalization,
        ReCamTrainingOptions options, Device device, int startEpoch = 0, Action<int>? epochEnd = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (min, max) = options.EffectiveResizeLong;
        int warmup = options.HeadWarmupEpochs;
        var loop = new TrainingLoop(samples, network.ClassCount, new ClassificationAugmentation(options.Crop, min, max, normalization),
            options.BatchSize, warmup + options.Epochs, options.Seed, device);
        long warmupSteps = warmup * loop.StepsPerEpoch;
        long jointSteps = options.Epochs * loop.StepsPerEpoch;

        network.FreezeStem();
        network.train();
        head.train();
        var groups = new[]
        {
            new SGD.ParamGroup(network.BackboneTrainableParameters(), lr: options.LearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay),
            new SGD.ParamGroup(network.ClassifierParameters(), lr: options.ClassifierLearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay),
            new SGD.ParamGroup(head.parameters(), lr: options.HeadLearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay),
        };
        double[] baseRates = [options.LearningRate, options.ClassifierLearningRate, options.HeadLearningRate];
        using var optimizer = optim.SGD(groups, options.LearningRate, options.Momentum);

        loop.Run(startEpoch, (images, labels, step) =>
        {
            bool warming = step < warmupSteps;
            double factor = warming
                ? PolySchedule.Factor(step, warmupSteps, options.PolyPower)
                : PolySchedule.Factor(step - warmupSteps, jointSteps, options.PolyPower);
            int g = 0;
            foreach (var group in optimizer.ParamGroups)
            {
                group.LearningRate = warming && g < 2 ? 0 : baseRates[g] * factor;
                g++;
            }
            optimizer.zero_grad();
            Tensor features;
            if (warming)
            {
                using var noGrad = no_grad();
                features = network.Features(images);
            }
            else
            {
                features = network.Features(images);
            }
            var bce = nn.functional.binary_cross_entropy_with_logits(network.Logits(features), labels);
            var (masks, classFeatures) = ReCamHead.MaskedClassFeatures(features, network.ClassifierWeight);
            var background = head.HasBackgroundClass ? ReCamHead.BackgroundFeatures(masks, features, labels) : null;
            var (sce, accuracy) = head.Loss(classFeatures, labels, background);
            var loss = warming ? sce : bce + options.Lambda * sce;
            float value = loss.item<float>();
            if (!float.IsFinite(value))
                throw new TrainingDivergedException($"train-recam diverged at step {step + 1} of {loop.TotalSteps} (loss {value}); lower the learning rates.");
            loss.backward();
            optimizer.step();
            return new StepResult(value, new Dictionary<string, double>
            {
                ["bce"] = bce.item<float>(), ["sce"] = sce.item<float>(), ["accuracy"] = accuracy,
                ["lr"] = baseRates[2] * factor, ["warmup"] = warming ? 1 : 0,
            });
        }, epoch => epochEnd?.Invoke(epoch), progress, cancellationToken);
        network.eval();
        head.eval();
    }

    /// <summary>
    /// A warning when the head's SCE accuracy (last epoch) is below twice chance, else null: W2 has not learned to tell the
    /// classes apart, so W1⊙W2 maps are unreliable (random W2, the official start) or stay close to CAM (W2 started at ones).
    /// </summary>
    public static string? HeadNearChance(double accuracy, ReCamHead head, ReCamTrainingOptions options)
    {
        double chance = 1.0 / (head.ClassCount + (head.HasBackgroundClass ? 1 : 0));
        if (options.Combination == WeightCombination.W1 || !(accuracy < 2 * chance)) return null;
        return $"the re-activation head ended at SCE accuracy {accuracy:F2}, near chance ({chance:F2}): W1⊙W2 maps will be " +
            $"{(options.HeadInit == HeadInitialization.Ones ? "close to CAM" : "unreliable")}. Train the head more (learning rate, " +
            "head warm-up epochs) or extract with the W1 weights.";
    }
}
