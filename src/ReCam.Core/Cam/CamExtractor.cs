using System.Diagnostics;
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
/// <remarks>
/// Memory is bounded by <see cref="MaxInputSide"/>: the backbone's activations grow with the area it sees, so when the largest
/// scale would give the backbone an image whose longer side exceeds it, every scale is multiplied by the same factor so that
/// the largest fits (a 4000-pixel photo with the default scales is seen at 512 to 2048 pixels instead of 2000 to 8000). The
/// maps still come out at the image's size. With the defaults, images up to 1024 pixels are processed exactly as the
/// official code does.
/// </remarks>
public sealed class CamExtractor
{
    /// <summary>The official scales.</summary>
    public static IReadOnlyList<double> DefaultScales { get; } = [1.0, 0.5, 1.5, 2.0];

    /// <summary>
    /// Default <see cref="MaxInputSide"/>: twice 1024, so the official scales run unchanged on images up to 1024 pixels (VOC's
    /// and COCO's are at most 640), and a ResNet-18 extraction peaks near 1.5 GB of memory whatever the image size.
    /// </summary>
    public const int DefaultMaxInputSide = 2048;

    /// <summary>Smallest accepted <see cref="MaxInputSide"/>.</summary>
    public const int MinMaxInputSide = 64;

    /// <summary>Largest accepted <see cref="MaxInputSide"/> (a ResNet-18 pass at this side needs about 6 GB).</summary>
    public const int MaxMaxInputSide = 8192;

    private readonly ResNet _backbone;
    private readonly Tensor _weight;
    private readonly Tensor? _pixelClassWeight;
    private readonly InputNormalization _normalization;
    private readonly AdvCamOptions? _climbing;
    private ExtractionTimings _timings = new();

    /// <summary>Creates an extractor over <paramref name="network"/>'s backbone (which should be in eval mode).</summary>
    /// <param name="network">The CAM network; its backbone computes the features and its spec gives the input convention.</param>
    /// <param name="classifierWeight">Classifier weight [C, D, 1, 1] on the network's device: null = W1 (CAM); a combination of
    /// W1 and W2 for ReCAM (<see cref="WeightCombinations.Combine"/>).</param>
    /// <param name="scales">Scales; null = <see cref="DefaultScales"/>.</param>
    /// <param name="maxInputSide">Longest side of any image the backbone sees (see the remarks); at most <see cref="MaxMaxInputSide"/>.</param>
    /// <param name="climbing">Null for CAMs; AdvCAM's settings to extract AdvCAMs (adversarial climbing per scale and class, far
    /// slower: see <see cref="AdvCamOptions"/>).</param>
    /// <param name="pixelClassWeight">Null: each class's map is its own (the official code). Otherwise a classifier weight of the
    /// same shape (W1 for <see cref="PixelClassSource.W1"/>) whose maps, extracted alongside from the same features, decide each
    /// pixel's class: see <see cref="AssignPixelClasses"/>. Not with <paramref name="climbing"/>.</param>
    public CamExtractor(CamNetwork network, Tensor? classifierWeight = null, IReadOnlyList<double>? scales = null, int maxInputSide = DefaultMaxInputSide,
        AdvCamOptions? climbing = null, Tensor? pixelClassWeight = null)
    {
        climbing?.Validate();
        _climbing = climbing;
        ArgumentNullException.ThrowIfNull(network);
        var weight = classifierWeight ?? network.ClassifierWeight;
        if (weight.dim() != 4 || weight.shape[1] != network.Backbone.OutputChannels)
            throw new ArgumentException($"Classifier weight must be [C, {network.Backbone.OutputChannels}, 1, 1], got [{string.Join(", ", weight.shape)}].", nameof(classifierWeight));
        if (pixelClassWeight is not null && !pixelClassWeight.shape.SequenceEqual(weight.shape))
            throw new ArgumentException($"The pixel-class weight must have the classifier weight's shape [{string.Join(", ", weight.shape)}], got [{string.Join(", ", pixelClassWeight.shape)}].", nameof(pixelClassWeight));
        if (pixelClassWeight is not null && climbing is not null)
            throw new ArgumentException("A pixel-class weight does not combine with adversarial climbing.", nameof(pixelClassWeight));
        _backbone = network.Backbone;
        _weight = weight;
        _pixelClassWeight = pixelClassWeight;
        _normalization = network.Normalization;
        Scales = scales ?? DefaultScales;
        CheckScales(Scales);
        CheckMaxInputSide(maxInputSide);
        MaxInputSide = maxInputSide;
    }

    /// <summary>Throws <see cref="InvalidOptionException"/> unless <paramref name="maxInputSide"/> is between <see cref="MinMaxInputSide"/> and <see cref="MaxMaxInputSide"/>.</summary>
    public static void CheckMaxInputSide(int maxInputSide)
    {
        if (maxInputSide is < MinMaxInputSide or > MaxMaxInputSide)
            throw new InvalidOptionException("MaxInputSide", $"must be between {MinMaxInputSide} and {MaxMaxInputSide} pixels (got {maxInputSide})");
    }

    /// <summary>Longest side, in pixels, of any image the backbone sees; larger images are processed at reduced scales.</summary>
    public int MaxInputSide { get; }

    /// <summary>
    /// The factor every scale is multiplied by for an image of <paramref name="width"/> x <paramref name="height"/>: 1, or
    /// less when the largest scale would exceed <see cref="MaxInputSide"/>.
    /// </summary>
    public double ScaleFactorFor(int width, int height) => Math.Min(1.0, MaxInputSide / (Scales.Max() * Math.Max(width, height)));

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
        // Nothing changes the backbone during one image: its scales share one fold of the batch norms.
        using var folded = ConvBatchNorm.ReuseFoldedWeights();
        using var index = tensor(keys.ToArray(), device: _weight.device);
        var w = _weight.index_select(0, index);
        // With a pixel-class weight its maps ride along as K more channels of the same convolution: one backbone pass serves both.
        if (_pixelClassWeight is not null) w = cat([w, _pixelClassWeight.index_select(0, index)], 0);
        var strided = zeros(w.shape[0], ch, cw, device: w.device);
        var highRes = zeros(w.shape[0], height, width, device: w.device);
        double fit = ScaleFactorFor(width, height);
        long clock = Stopwatch.GetTimestamp();
        foreach (double nominal in Scales)
        {
            // Each scale's tensors are freed before the next scale starts: peak memory is one scale's, not the sum.
            using var scaleScope = NewDisposeScope();
            double scale = nominal * fit;
            var scaled = scale == 1.0 ? image : PilResize.Rescale(image, scale);
            _timings.Rescale += Lap(ref clock);
            var cam = (_climbing is null ? MergedCam(scaled, w) : ClimbedCam(scaled, keys, _climbing.IterationsAt(nominal))).unsqueeze(0);
            _timings.Network += Lap(ref clock);
            strided.add_(nn.functional.interpolate(cam, [ch, cw], mode: InterpolationMode.Bilinear, align_corners: false)[0]);
            highRes.add_(nn.functional.interpolate(cam, [uh, uw], mode: InterpolationMode.Bilinear, align_corners: false)[0, .., ..height, ..width]);
            _timings.Fusion += Lap(ref clock);
        }
        var stridedN = Finish(strided, k).cpu().contiguous();
        var highN = Finish(highRes, k).cpu().contiguous();
        var maps = new CamMaps(keys.ToArray(), stridedN.data<float>().ToArray(), ch, cw, highN.data<float>().ToArray(), height, width);
        _timings.Output += Lap(ref clock);
        _timings.Images++;
        return maps;
    }

    /// <summary>
    /// Where the time of the extractions so far went (CPU work is synchronous, so wall-clock laps are exact): PIL rescaling,
    /// the network (normalisation, backbone, classifier, flip merge), the fusion of the scales, the final normalisation and copy.
    /// A profile for one caller at a time: extractions running concurrently on one extractor may lose some of each other's laps.
    /// </summary>
    public ExtractionTimings Timings => _timings with { };

    // Normalises the fused maps; with a pixel-class weight, the first k are the extent's and the last k rank the classes.
    private Tensor Finish(Tensor fused, int k)
    {
        if (_pixelClassWeight is null) return MaxNormalization.Apply(fused);
        return AssignPixelClasses(MaxNormalization.Apply(fused[..k]), MaxNormalization.Apply(fused[k..]));
    }

    /// <summary>
    /// Gives each pixel the foreground strength of <paramref name="extent"/> and the class ranking of <paramref name="classes"/>
    /// (both normalised maps, (K, h, w)): map_k = max_j extent_j · classes_k / max_j classes_j, so the strongest map at a pixel
    /// is the one <paramref name="classes"/> ranks first, and its value, which a background threshold compares, is
    /// <paramref name="extent"/>'s maximum there. Where every class map of <paramref name="classes"/> is 0, the pixel keeps
    /// <paramref name="extent"/>'s maps. One class: the extent's map unchanged.
    /// </summary>
    public static Tensor AssignPixelClasses(Tensor extent, Tensor classes)
    {
        if (!extent.shape.SequenceEqual(classes.shape))
            throw new ArgumentException($"Extent [{string.Join(", ", extent.shape)}] and class maps [{string.Join(", ", classes.shape)}] differ in shape.");
        if (extent.shape[0] == 1) return extent.clone(); // nothing to rank
        using var scope = NewDisposeScope();
        var strongest = extent.amax([0], keepdim: true);
        var top = classes.amax([0], keepdim: true);
        var ranked = strongest * classes / top.clamp_min(float.Epsilon);
        return where(top > 0, ranked, extent).MoveToOuterDisposeScope();
    }

    private static double Lap(ref long clock)
    {
        long now = Stopwatch.GetTimestamp();
        double seconds = Stopwatch.GetElapsedTime(clock, now).TotalSeconds;
        clock = now;
        return seconds;
    }

    private Tensor Cam(Tensor x, Tensor weight)
    {
        using var features = _backbone.call(x);
        return nn.functional.conv2d(features, weight).relu_();
    }

    /// <summary>ReLU(W·F) of the image and of its flip, merged as A[0] + flip(A[1]): (K, h', w').</summary>
    private Tensor Normalized(RgbImage image)
    {
        int pixels = image.Width * image.Height;
        var chw = new float[3 * pixels];
        _normalization.ToChw(image.Pixels, pixels, chw);
        return tensor(chw, [1, 3, image.Height, image.Width]).to(_weight.device);
    }

    // AdvCAM: each class climbs its own copy of the image and its flip; the classes' summed maps stack like MergedCam's.
    private Tensor ClimbedCam(RgbImage image, IReadOnlyList<long> keys, int iterations)
    {
        using var scope = NewDisposeScope();
        var x = Normalized(image);
        var pair = cat([x, x.flip(3)], 0);
        var maps = keys.Select(k => AdversarialClimbing.ClassMap(_backbone, _weight, pair, k, iterations, _climbing!).Map).ToArray();
        return stack(maps).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Largest image area (pixels) whose flip pair goes through the backbone as one batch of two, as the official code does; a
    /// larger one goes through one copy after the other, which gives the same maps with half the activation memory, so that
    /// <see cref="MaxInputSide"/> keeps bounding the peak.
    /// </summary>
    public const int PairBatchMaxPixels = 1024 * 1024;

    private Tensor MergedCam(RgbImage image, Tensor weight)
    {
        using var scope = NewDisposeScope();
        // Channels-last (NHWC) layout: the convolutions and the max pooling run on it without reordering each activation (the
        // tensor keeps its NCHW shape; only the strides differ).
        var x = ChannelsLast(Normalized(image));
        if (image.Width * image.Height <= PairBatchMaxPixels)
        {
            var pair = Cam(cat([x, x.flip(3)], 0), weight);
            return pair[0].add_(pair[1].flip(2)).MoveToOuterDisposeScope();
        }
        var a = Cam(x, weight);
        using (var flipped = x.flip(3)) a.add_(Cam(flipped, weight).flip(3));
        return a[0].MoveToOuterDisposeScope();
    }

    private static Tensor ChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
}

/// <summary>Cumulative seconds per part of <see cref="CamExtractor.Extract"/>, over <see cref="Images"/> images.</summary>
public sealed record ExtractionTimings
{
    /// <summary>Images extracted.</summary>
    public int Images { get; internal set; }

    /// <summary>PIL-exact bicubic rescaling of the image to each scale.</summary>
    public double Rescale { get; internal set; }

    /// <summary>Input normalisation, backbone and classifier on the image and its flip, and their merge.</summary>
    public double Network { get; internal set; }

    /// <summary>Bilinear resizing of each scale's maps to the strided and full-resolution grids, and their sum.</summary>
    public double Fusion { get; internal set; }

    /// <summary>Division by each map's maximum and the copy into the returned arrays.</summary>
    public double Output { get; internal set; }
}
