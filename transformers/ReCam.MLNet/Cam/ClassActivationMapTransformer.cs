using Microsoft.ML;
using Microsoft.ML.Runtime;
using ReCam.Networks;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>
/// A fitted CAM classifier as an ML.NET transformer: adds the class activation maps of each row's image (see
/// <see cref="MapColumnNames"/> for the columns). The present classes come from the label column when the input has it,
/// otherwise from the classifier (probability above <see cref="MapTransformerBase.Threshold"/>). Work is lazy: the network
/// runs when a cursor reaches a row and an output of that row is read, once per row for all outputs. Saves into ML.NET
/// <c>.zip</c> models; <see cref="MLContext.Model"/>.Load restores it in any process without registration. Dispose it to
/// free native memory.
/// </summary>
/// <remarks>
/// Saved layout: <see cref="MapModelInfo"/>'s main stream (nothing after it), and the network (backbone + W1) as a
/// TorchSharp state dict in the binary entry <c>TorchWeights</c>.
/// </remarks>
public sealed class ClassActivationMapTransformer : MapTransformerBase
{
    internal const string LoaderSignature = "ReCamClassActivationMap";

    internal static readonly ModelFormat ModelFormat =
        new("RECAMCAM", MapModelInfo.DigestsVersion, 0x00010001, LoaderSignature, "ReCam class activation map model");

    internal const string WeightsEntry = "TorchWeights";

    internal ClassActivationMapTransformer(IHostEnvironment env, CamNetwork network, MapModelInfo info, Device device)
        : base(env, nameof(ClassActivationMapTransformer), network, info, device)
    {
    }

    private protected override ModelFormat Format => ModelFormat;

    private protected override void SaveState(ModelStateWriter writer) => writer.WriteWeights(WeightsEntry, Network);

    /// <summary>Rebuilds a transformer from a saved model (called by the loader in MLNetInternals/).</summary>
    internal static ClassActivationMapTransformer Load(ModelStateReader reader)
    {
        var device = SelectDevice(reader, ModelFormat);
        var network = new CamNetwork(reader.Info.Backbone, reader.Info.ClassNames.Length);
        return LoadWeights(reader, ModelFormat, () => new ClassActivationMapTransformer(reader.Environment, network, reader.Info, device), (WeightsEntry, network));
    }

    /// <summary>
    /// A copy of the fitted network (backbone + W1) on the CPU, owned by the caller: components that continue from this
    /// model (the re-activation trainer) train their own copy, so each transformer disposes only what it owns.
    /// </summary>
    internal CamNetwork CloneNetwork()
    {
        var copy = new CamNetwork(Info.Backbone, Info.ClassNames.Length);
        try
        {
            lock (Gate)
            {
                ThrowIfDisposed();
                using var noGrad = no_grad();
                copy.load_state_dict(Network.state_dict(), strict: true);
            }
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }
}
