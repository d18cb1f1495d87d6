using ReCam.Networks;
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
    /// <param name="network">The CAM network to re-activate.</param>
    /// <param name="head">The re-activation head W2, initialised (<see cref="ReCamHead.Initialize"/>).</param>
    /// <param name="samples">Training images and labels.</param>
    /// <param name="options">Training options (validated here).</param>
    /// <param name="device">Device to train on.</param>
    /// <param name="hooks">Progress, epoch callback (checkpointing), resume point and cancellation.</param>
    /// <exception cref="InvalidOptionException">An option is invalid.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    public static void Train(CamNetwork network, ReCamHead head, IReadOnlyList<TrainingSample> samples, ReCamTrainingOptions options, Device device,
        TrainingHooks? hooks = null)
    {
        options.Validate();
        var loop = new TrainingLoop(samples, network.ClassCount, ClassificationAugmentation.For(options, network.Normalization),
            options.BatchSize, options.TotalEpochs, options.Seed, device);
        long warmupSteps = options.HeadWarmupEpochs * loop.StepsPerEpoch;
        long jointSteps = options.Epochs * loop.StepsPerEpoch;

        network.FreezeStem();
        network.train();
        head.train();
        const int headGroup = 2;
        using var optimizer = new PolyOptimizer(
        [
            (network.BackboneTrainableParameters(), options.LearningRate), (network.ClassifierParameters(), options.ClassifierLearningRate),
            (head.parameters(), options.HeadLearningRate),
        ], options);

        loop.Run((images, labels, step) =>
        {
            bool warming = step < warmupSteps;
            // Each phase has its own poly schedule; during the warm-up only W2 learns.
            double rate = warming
                ? optimizer.Prepare(step, warmupSteps, headGroup, g => g != headGroup)
                : optimizer.Prepare(step - warmupSteps, jointSteps, headGroup);
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
            optimizer.Step();
            return new StepMetrics(value, rate, bce.item<float>(), sce.item<float>(), accuracy, warming);
        }, hooks ?? new TrainingHooks(), optimizer);
        network.eval();
        head.eval();
    }

    /// <summary>The largest joint-epoch W2 step, λ × W2's learning rate, measured safe (λ 1 with W2's rate 2.0).</summary>
    public const double MaxMeasuredHeadStep = 2.0;

    /// <summary>
    /// A warning when λ makes W2's joint-epoch step larger than any measured safe, else null. λ scales W2's gradient as well as
    /// the backbone's (W2 learns only from the SCE term), so raising λ at W2's default rate of 1.0 multiplies W2's step: on 600
    /// generated scenes λ 10 made the head's SCE jump from 0.21 to 2.80 in the first joint epoch and the maps lose 13 points.
    /// </summary>
    public static string? LambdaScalesHeadStep(ReCamTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        double step = options.Lambda * options.HeadLearningRate;
        if (options.Epochs == 0 || !(step > MaxMeasuredHeadStep)) return null;
        return $"λ {options.Lambda:G3} scales W2's gradient too: with W2's learning rate {options.HeadLearningRate:G3} its joint-epoch step is " +
            $"{step:G3}, beyond the {MaxMeasuredHeadStep:G3} measured safe (λ 10 at rate 1 diverged and cost 13 points of seed mIoU). " +
            $"Lower W2's learning rate to {MaxMeasuredHeadStep / options.Lambda:G3} or less.";
    }

    /// <summary>
    /// A warning when the head's SCE accuracy (last epoch) is below twice chance, else null: W2 has not learned to tell the
    /// classes apart, so W1⊙W2 maps are unreliable (random W2, the official start) or stay close to CAM (W2 started at ones).
    /// </summary>
    public static string? HeadNearChance(double accuracy, ReCamHead head, ReCamTrainingOptions options)
    {
        double chance = 1.0 / (head.ClassCount + (head.HasBackgroundClass ? 1 : 0));
        if (options.Combination == WeightCombination.W1 || !(accuracy < 2 * chance)) return null;
        // A W2 gain above 1 scales what W2 learnt, noise included, so an untrained head from ones is no longer harmless.
        string maps = options.HeadInit == HeadInitialization.Ones && options.W2Gain <= 1 ? "close to CAM" : "unreliable";
        return $"the re-activation head ended at SCE accuracy {accuracy:F2}, near chance ({chance:F2}): W1⊙W2 maps will be " +
            $"{maps}. Train the head more (learning rate, head warm-up epochs), or extract with the W1 weights or a W2 gain of 1.";
    }
}
