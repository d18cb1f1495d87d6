using Microsoft.ML.Runtime;
using ReCam.Cam;
using ReCam.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>
/// A re-activated CAM model (ReCAM) as an ML.NET transformer: adds ReCAM maps to each row, with the same column layout as
/// <see cref="ClassActivationMapTransformer"/> (see <see cref="MapColumnNames"/>; default base name <c>ReCam</c>, so both can
/// sit side by side in one pipeline). The maps use the classifier weight chosen by <see cref="Combination"/> (W1 ⊙ W2 by
/// default, as the official VOC make_recam, with W2's learnt part scaled by <see cref="W2Gain"/>) and rank the classes at each
/// pixel with <see cref="PixelClass"/>'s classifier; the present classes come from the label column when the input has it, otherwise
/// from the re-activated classifier W1 (probability above <see cref="MapTransformerBase.Threshold"/>). Lazy, once per row; saves into ML.NET
/// <c>.zip</c> models and loads in any process without registration. Dispose it to free native memory.
/// </summary>
/// <remarks>
/// Saved layout: <see cref="MapModelInfo"/>'s main stream followed by an <c>int32</c>, the <see cref="WeightCombination"/>, and from
/// format 0x00010003 a <c>float64</c>, the W2 gain, and an <c>int32</c>, the <see cref="PixelClassSource"/> (older models read as
/// gain 1 and <see cref="PixelClassSource.Combined"/>, the maps they were fitted with);
/// the network (backbone + W1) as a TorchSharp state dict in the binary entry <c>TorchWeights</c>, and W2 (without the
/// training-only background row) in <c>ReCamHeadWeights</c>.
/// </remarks>
public sealed class ReactivatedClassActivationMapTransformer : MapTransformerBase
{
    internal const string LoaderSignature = "ReCamReactivatedMap";

    internal static readonly ModelFormat ModelFormat =
        new("RECAMREC", W2GainVersion, 0x00010001, LoaderSignature, "ReCam re-activated class activation map model");

    /// <summary>The format version that added the W2 gain and the pixel-class source.</summary>
    internal const uint W2GainVersion = 0x00010003;

    internal const string WeightsEntry = "TorchWeights";
    internal const string HeadEntry = "ReCamHeadWeights";

    private readonly ReCamHead _head;

    /// <summary>Takes ownership of <paramref name="network"/> and <paramref name="head"/>.</summary>
    internal ReactivatedClassActivationMapTransformer(IHostEnvironment env, CamNetwork network, ReCamHead head, MapModelInfo info,
        ReCamMapSettings maps, Device device)
        : base(env, nameof(ReactivatedClassActivationMapTransformer), network, info, device, moved =>
        {
            head.to(device);
            head.eval();
            return WeightCombinations.Combine(moved.ClassifierWeight, head.Weight, maps.Combination, maps.W2Gain);
        }, maps.RanksWithW1 ? moved => moved.ClassifierWeight.clone() : null)
    {
        _head = head;
        _maps = maps;
    }

    private readonly ReCamMapSettings _maps;

    /// <summary>The classifier weight the maps are computed with.</summary>
    public WeightCombination Combination => _maps.Combination;

    /// <summary>Gain on W2's learnt part in the maps' weight (1: W2 as trained, the official code).</summary>
    public double W2Gain => _maps.W2Gain;

    /// <summary>Which classifier ranks the classes at each pixel (W1 has no effect when <see cref="Combination"/> is W1).</summary>
    public PixelClassSource PixelClass => _maps.PixelClass;

    private protected override ModelFormat Format => ModelFormat;

    private protected override void SaveState(ModelStateWriter writer)
    {
        writer.Writer.Write((int)Combination);
        writer.Writer.Write(W2Gain);
        writer.Writer.Write((int)PixelClass);
        writer.WriteWeights(WeightsEntry, Network);
        writer.WriteWeights(HeadEntry, _head);
    }

    /// <summary>Rebuilds a transformer from a saved model (called by the loader in MLNetInternals/).</summary>
    internal static ReactivatedClassActivationMapTransformer Load(ModelStateReader reader)
    {
        var combination = (WeightCombination)reader.Reader.ReadInt32();
        if (!Enum.IsDefined(combination)) throw reader.Corrupt($"Damaged {ModelFormat.Description}: unknown weight combination {(int)combination}.");
        double gain = 1.0;
        var pixelClass = PixelClassSource.Combined;
        if (reader.Version >= W2GainVersion)
        {
            gain = reader.Reader.ReadDouble();
            if (!(gain is >= 0 and <= WeightCombinations.MaxW2Gain)) throw reader.Corrupt($"Damaged {ModelFormat.Description}: W2 gain {gain} is out of range.");
            pixelClass = (PixelClassSource)reader.Reader.ReadInt32();
            if (!Enum.IsDefined(pixelClass)) throw reader.Corrupt($"Damaged {ModelFormat.Description}: unknown pixel-class source {(int)pixelClass}.");
        }
        var device = SelectDevice(reader, ModelFormat);
        var network = new CamNetwork(reader.Info.Backbone, reader.Info.ClassNames.Length);
        var head = new ReCamHead(network.Backbone.OutputChannels, network.ClassCount);
        return LoadWeights(reader, ModelFormat, () => new ReactivatedClassActivationMapTransformer(reader.Environment, network, head, reader.Info, new ReCamMapSettings(combination, gain, pixelClass), device),
            (WeightsEntry, network), (HeadEntry, head));
    }

    private protected override void DisposeOwned()
    {
        _head.Dispose();
        base.DisposeOwned();
    }
}
