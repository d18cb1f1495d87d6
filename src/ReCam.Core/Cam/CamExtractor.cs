using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Training;
using static TorchSharp.torch;

namespace ReCam.Cam;

/// <summary>
/// Multi-scale class activation map extraction (the official make_cam / make_recam). For each
/// scale (default 1.0, 0.5, 1.5, 2.0) the image is rescaled with PIL bicubic, paired with its
/// horizontal flip, passed through the backbone; A = ReLU(W · F) per copy, merged as A[0] + flip(A[1]).
/// The stride-4 map sums the bilinear resizes of every scale to (⌈H/4⌉, ⌈W/4⌉); the full-resolution map
/// sums the resizes to (16⌈H/16⌉, 16⌈W/16⌉), cropped to H×W. Only the present classes are kept, each
/// divided by its spatial maximum + 1e-5.
/// </summary>
public sealed class CamExtractor
{
    /// <summary>The official scales.</summary>
    public static IReadOnlyList<double> DefaultScales { get; } = [1.0, 0.5, 1.5, 2.0];

    private readonly ResNet _backbone;
    private readonly Tensor _weight;
    private readonly InputNormalization _normalization;

    /// <summary>Creates an extractor over <paramref name="network"/>'s backbone (which should be in eval mode).</summary>
    /// <param name="network">The CAM network; its backbone computes the features and its spec gives the input convention.</param>
    /// <param name="classifierWeight">Classifier weight [C, D, 1, 1] on the network's device: null = W1 (CAM); a combination of
    /// W1 and W2 for ReCAM (<see cref="WeightCombinations.Combine"/>).</param>
    /// <param name="scales">Scales; null = <see cref="DefaultScales"/>.</param>
    public CamExtractor(CamNetwork network, Tensor? classifierWeight = null, IReadOnlyList<double>? scales = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        var weight = classifierWeight ?? network.ClassifierWeight;
        if (weight.dim() != 4 || weight.shape[1] != network.Backbone.OutputChannels)
            throw new ArgumentException($"Classifier weight must be [C, {network.Backbone.OutputChannels}, 1, 1], got [{string.Join(", ", weight.shape)}].", nameof(classifierWeight));
        _backbone = network.Backbone;
        _weight = weight;
        _normalization = network.Normalization;
        Scales = scales ?? DefaultScales;
        CheckScales(Scales);
    }

    /// <summary>Throws <see cref="InvalidOptionException"/> unless <paramref name="scales"/> holds 1 to 16 scales in (0, 8].</summary>
    public static void CheckScales(IReadOnlyList<double> scales)
    {
        ArgumentNullException.ThrowIfNull(scales);
        if (scales.Count is 0 or > 16 || scales.Any(s => !(s is > 0 and <= 8)))
            throw new InvalidOptionException("Scales", $"must be 1 to 16 scales in (0, 8] (got {string.Join(",", scales)})");
    }

    /// <summary>Scales in use.</summary>
    public IReadOnlyList<double> Scales { get; }

    /// <summary>Number of classes of the classifier weight.</summary>
    public int ClassCount => (int)_weight.shape[0];

    /// <summary>Extracts the maps of the classes <paramref name="keys"/> (0-based, ascending) for one image.</summary>
    public CamMaps Extract(RgbImage image, IReadOnlyList<long> keys)
    {
        int height = image.Height, width = image.Width;
        int ch = (height + 3) / 4, cw = (width + 3) / 4;
        int uh = (height + 15) / 16 * 16, uw = (width + 15) / 16 * 16;
        if (keys.Any(k => k < 0 || k >= ClassCount))
            throw new ArgumentException($"Class keys must be in 0..{ClassCount - 1}; got [{string.Join(", ", keys)}].", nameof(keys));
        int k = keys.Count;
        if (k == 0) return new CamMaps([], [], ch, cw, [], height, width);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var w = _weight.index_select(0, tensor(keys.ToArray(), device: _weight.device));
        Tensor? strided = null, highRes = null;
        foreach (double scale in Scales)
        {
            var scaled = scale == 1.0 ? image : PilResize.Rescale(image, scale);
            var cam = MergedCam(scaled, w).unsqueeze(0);
            var s = nn.functional.interpolate(cam, [ch, cw], mode: InterpolationMode.Bilinear, align_corners: false)[0];
            var u = nn.functional.interpolate(cam, [uh, uw], mode: InterpolationMode.Bilinear, align_corners: false)[0, .., ..height, ..width];
            strided = strided is null ? s : strided + s;
            highRes = highRes is null ? u : highRes + u;
        }
        var stridedN = MaxNormalization.Apply(strided!).cpu().contiguous();
        var highN = MaxNormalization.Apply(highRes!).cpu().contiguous();
        return new CamMaps(keys.ToArray(), stridedN.data<float>().ToArray(), ch, cw, highN.data<float>().ToArray(), height, width);
    }

    /// <summary>ReLU(W·F) of the image and of its flip, merged as A[0] + flip(A[1]): (K, h', w').</summary>
    private Tensor MergedCam(RgbImage image, Tensor weight)
    {
        int pixels = image.Width * image.Height;
        var chw = new float[3 * pixels];
        _normalization.ToChw(image.Pixels, pixels, chw);
        var x = tensor(chw, [1, 3, image.Height, image.Width]).to(_weight.device);
        var pair = cat([x, x.flip(3)], 0);
        var a = nn.functional.relu(nn.functional.conv2d(_backbone.call(pair), weight));
        return a[0] + a[1].flip(2);
    }
}
