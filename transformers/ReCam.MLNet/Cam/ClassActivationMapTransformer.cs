using Microsoft.ML;
using Microsoft.ML.Runtime;
using ReCam.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>
/// A fitted CAM classifier as an ML.NET transformer: adds the class activation maps of each row's image (see
/// <see cref="CamColumnNames"/> for the columns). The present classes come from the label column when the input has it,
/// otherwise from the classifier (probability above <see cref="MapTransformerBase.Threshold"/>). Work is lazy: the network runs when a cursor
/// reaches a row and an output of that row is read, once per row for all outputs. Saves into ML.NET <c>.zip</c> models;
/// <see cref="MLContext.Model"/>.Load restores it in any process without registration. Dispose it to free native memory.
/// </summary>
public sealed class ClassActivationMapTransformer : MapTransformerBase
{
    internal const string LoaderSignature = "ReCamClassActivationMap";

    internal static readonly ModelFormat ModelFormat =
        new("RECAMCAM", 0x00010001, 0x00010001, LoaderSignature, "ReCam class activation map model");

    internal const string WeightsEntry = "TorchWeights";

    internal ClassActivationMapTransformer(IHostEnvironment env, CamNetwork network, CamModelInfo info, Device device)
        : base(env, nameof(ClassActivationMapTransformer), network, info, device)
    {
    }

    private protected override ModelFormat Format => ModelFormat;

    private protected override void SaveState(ModelStateWriter writer)
    {
        Info.Write(writer.Writer);
        lock (Gate) writer.WriteEntry(WeightsEntry, w => Network.save(w));
    }

    /// <summary>Rebuilds a transformer from a saved model (called by the loader in MLNetInternals/).</summary>
    internal static ClassActivationMapTransformer Load(ModelStateReader reader)
    {
        var env = reader.Environment;
        var info = CamModelInfo.Read(reader.Reader, m => reader.Corrupt($"Damaged {ModelFormat.Description}: {m}."));
        using var ch = env.Start("Loading " + ModelFormat.Description);
        var device = MLNetBridge.SelectDevice(env, ch);
        var network = new CamNetwork(new ResNet(info.Block, info.Layers), info.ClassNames.Length);
        try
        {
            reader.ReadWeights(WeightsEntry, network, ModelFormat.Description);
            return new ClassActivationMapTransformer(env, network, info, device);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A copy of the fitted network (backbone + W1) on the CPU, owned by the caller: components that continue from this
    /// model (the re-activation trainer) train their own copy, so each transformer disposes only what it owns.
    /// </summary>
    internal CamNetwork CloneNetwork()
    {
        var copy = new CamNetwork(new ResNet(Info.Block, Info.Layers), Info.ClassNames.Length);
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
