using Microsoft.ML.Runtime;
using ReCam.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>
/// A re-activated CAM model (ReCAM) as an ML.NET transformer: adds ReCAM maps to each row, with the same column layout as
/// <see cref="ClassActivationMapTransformer"/> (see <see cref="MapColumnNames"/>; default base name <c>ReCam</c>, so both can
/// sit side by side in one pipeline). The maps use the classifier weight chosen by <see cref="Combination"/> (W1 ⊙ W2 by
/// default, as the official VOC make_recam); the present classes come from the label column when the input has it, otherwise
/// from the re-activated classifier W1 (probability above <see cref="MapTransformerBase.Threshold"/>). Lazy, once per row; saves into ML.NET
/// <c>.zip</c> models and loads in any process without registration. Dispose it to free native memory.
/// </summary>
/// <remarks>
/// Saved layout: <see cref="MapModelInfo"/>'s main stream followed by an <c>int32</c>, the <see cref="WeightCombination"/>;
/// the network (backbone + W1) as a TorchSharp state dict in the binary entry <c>TorchWeights</c>, and W2 (without the
/// training-only background row) in <c>ReCamHeadWeights</c>.
/// </remarks>
public sealed class ReactivatedClassActivationMapTransformer : MapTransformerBase
{
    internal const string LoaderSignature = "ReCamReactivatedMap";

    internal static readonly ModelFormat ModelFormat =
        new("RECAMREC", MapModelInfo.DigestsVersion, 0x00010001, LoaderSignature, "ReCam re-activated class activation map model");

    internal const string WeightsEntry = "TorchWeights";
    internal const string HeadEntry = "ReCamHeadWeights";

    private readonly ReCamHead _head;

    /// <summary>Takes ownership of <paramref name="network"/> and <paramref name="head"/>.</summary>
    internal ReactivatedClassActivationMapTransformer(IHostEnvironment env, CamNetwork network, ReCamHead head, MapModelInfo info,
        WeightCombination combination, Device device)
        : base(env, nameof(ReactivatedClassActivationMapTransformer), network, info, device, moved =>
        {
            head.to(device);
            head.eval();
            return WeightCombinations.Combine(moved.ClassifierWeight, head.Weight, combination);
        })
    {
        _head = head;
        Combination = combination;
    }

    /// <summary>The classifier weight the maps are computed with.</summary>
    public WeightCombination Combination { get; }

    private protected override ModelFormat Format => ModelFormat;

    private protected override void SaveState(ModelStateWriter writer)
    {
        writer.Writer.Write((int)Combination);
        writer.WriteWeights(WeightsEntry, Network);
        writer.WriteWeights(HeadEntry, _head);
    }

    /// <summary>Rebuilds a transformer from a saved model (called by the loader in MLNetInternals/).</summary>
    internal static ReactivatedClassActivationMapTransformer Load(ModelStateReader reader)
    {
        var combination = (WeightCombination)reader.Reader.ReadInt32();
        if (!Enum.IsDefined(combination)) throw reader.Corrupt($"Damaged {ModelFormat.Description}: unknown weight combination {(int)combination}.");
        var device = SelectDevice(reader, ModelFormat);
        var network = new CamNetwork(reader.Info.Backbone, reader.Info.ClassNames.Length);
        var head = new ReCamHead(network.Backbone.OutputChannels, network.ClassCount);
        return LoadWeights(reader, ModelFormat, () => new ReactivatedClassActivationMapTransformer(reader.Environment, network, head, reader.Info, combination, device),
            (WeightsEntry, network), (HeadEntry, head));
    }

    private protected override void DisposeOwned()
    {
        _head.Dispose();
        base.DisposeOwned();
    }
}
