using ReCam.Cam;
using ReCam.Imaging;

namespace ReCam.Refinement;

/// <summary>
/// The pseudo mask of one image from its random-walk maps (the official <c>make_sem_seg_labels</c> tail): bilinear
/// upsampling ×4 (align_corners=False) cropped to the image, division by the largest value over all classes and
/// pixels, a constant background plane, argmax. Values: 0 background, c + 1 for class c, and optionally
/// <see cref="IgnoreLabel"/> where the winner's lead over the runner-up is below a margin (our extension).
/// </summary>
public static class PseudoMask
{
    /// <summary>The official background threshold of the random-walk maps (VOC).</summary>
    public const float OfficialBackgroundThreshold = 0.28f;

    /// <summary>The label of pixels left out of training (as in VOC's ground truth): the uncertain ones when a margin is set.</summary>
    public const byte IgnoreLabel = 255;

    /// <summary>
    /// The pseudo mask of one image from its seed maps and its boundary map: the stride-4 maps (raised to
    /// <paramref name="mapsExponent"/>) spread by the random walk (<see cref="RandomWalk.Propagate"/>), then
    /// <see cref="FromRandomWalk"/>.
    /// </summary>
    /// <param name="maps">The image's seed maps (CAM, ReCAM or AdvCAM).</param>
    /// <param name="boundary">Its boundary map on the stride-4 grid, row-major (for example <c>BoundaryNetwork.BoundaryMap</c>).</param>
    /// <param name="backgroundThreshold">The background plane, relative to the largest walked value.</param>
    /// <param name="beta">Affinity exponent β.</param>
    /// <param name="steps">Random-walk steps.</param>
    /// <param name="radius">Neighbourhood radius of the walk, in stride-4 cells.</param>
    /// <param name="mapsExponent">Power applied to the maps before the walk (official: 1.5 for AdvCAM, else 1).</param>
    /// <param name="uncertainMargin">See <see cref="FromRandomWalk"/>; 0 (the official behaviour) labels every pixel.</param>
    /// <exception cref="ArgumentException">The boundary map does not cover the maps' stride-4 grid.</exception>
    public static LabelMap FromSeedMaps(CamMaps maps, ReadOnlySpan<float> boundary, float backgroundThreshold, double beta = RandomWalk.DefaultBeta,
        int steps = RandomWalk.DefaultSteps, int radius = RandomWalk.DefaultRadius, double mapsExponent = 1, float uncertainMargin = 0)
    {
        ArgumentNullException.ThrowIfNull(maps);
        if (boundary.Length != maps.CamHeight * maps.CamWidth)
            throw new ArgumentException($"A boundary map of {boundary.Length} cells does not match the {maps.CamHeight}x{maps.CamWidth} stride-4 maps.", nameof(boundary));
        var seeds = maps.Cam;
        if (mapsExponent != 1) seeds = seeds.Select(v => (float)Math.Pow(Math.Max(v, 0), mapsExponent)).ToArray();
        var walked = RandomWalk.Propagate(seeds, maps.Count, boundary, maps.CamHeight, maps.CamWidth, beta, steps, radius);
        return FromRandomWalk(walked, maps.Keys, maps.CamHeight, maps.CamWidth, maps.Height, maps.Width, backgroundThreshold, uncertainMargin);
    }

    /// <summary>Builds the mask.</summary>
    /// <param name="walked">Random-walk maps, [keys, gridHeight, gridWidth] (stride 4).</param>
    /// <param name="keys">0-based class of each map.</param>
    /// <param name="gridHeight">ceil(height / 4).</param>
    /// <param name="gridWidth">ceil(width / 4).</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="backgroundThreshold">The background plane's value, in [0, 1].</param>
    /// <param name="uncertainMargin">
    /// Pixels whose best score (background plane included, all divided by the largest value) leads the second best by
    /// less than this get <see cref="IgnoreLabel"/>: the bands where an object's walked score crosses the background
    /// plane or another class's, which a segmentation network then learns nothing from instead of learning a guess.
    /// 0 (the official behaviour) labels every pixel.
    /// </param>
    public static LabelMap FromRandomWalk(ReadOnlySpan<float> walked, IReadOnlyList<long> keys, int gridHeight, int gridWidth, int height, int width,
        float backgroundThreshold, float uncertainMargin = 0)
    {
        int k = keys.Count, grid = gridHeight * gridWidth;
        if (walked.Length != (long)k * grid) throw new ArgumentException($"Expected {k}x{gridHeight}x{gridWidth} values, got {walked.Length}.", nameof(walked));
        if (gridHeight * 4 < height || gridWidth * 4 < width)
            throw new ArgumentException($"A {gridHeight}x{gridWidth} stride-4 grid does not cover a {height}x{width} image.");
        if (!(backgroundThreshold is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(backgroundThreshold), backgroundThreshold, "Must be in [0, 1].");
        if (!(uncertainMargin is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(uncertainMargin), uncertainMargin, "Must be in [0, 1].");
        var label = new byte[height * width];
        if (k == 0) return new LabelMap(width, height, label);

        var ys = Taps(height, gridHeight);
        var xs = Taps(width, gridWidth);
        var up = new float[k * height * width];
        float max = 0;
        for (int c = 0; c < k; c++)
        {
            var plane = walked.Slice(c * grid, grid);
            for (int y = 0; y < height; y++)
            {
                var (y0, y1, fy) = ys[y];
                for (int x = 0; x < width; x++)
                {
                    var (x0, x1, fx) = xs[x];
                    float top = plane[y0 * gridWidth + x0] * (1 - fx) + plane[y0 * gridWidth + x1] * fx;
                    float bottom = plane[y1 * gridWidth + x0] * (1 - fx) + plane[y1 * gridWidth + x1] * fx;
                    float v = top * (1 - fy) + bottom * fy;
                    up[(c * height + y) * width + x] = v;
                    max = MathF.Max(max, v);
                }
            }
        }
        if (max <= 0) return new LabelMap(width, height, label);
        // Comparing v/max with t is comparing v with t*max; the same holds for the margin.
        float scaledThreshold = backgroundThreshold * max, scaledMargin = uncertainMargin * max;
        for (int i = 0; i < label.Length; i++)
        {
            float best = scaledThreshold, second = float.NegativeInfinity;
            for (int c = 0; c < k; c++)
            {
                float v = up[c * label.Length + i];
                if (v > best) (second, best, label[i]) = (best, v, (byte)(keys[c] + 1));
                else if (v > second) second = v;
            }
            if (best - second < scaledMargin) label[i] = IgnoreLabel;
        }
        return new LabelMap(width, height, label);
    }

    /// <summary>
    /// Snaps a pseudo mask to the image's edges with the dense CRF of the IR labels (<see cref="DenseCrf.RefineLabels"/>: a
    /// unary that trusts each pixel's label with <see cref="DenseCrfOptions.LabelConfidence"/>, the official
    /// <c>crf_inference_label</c> kernels). Our extension: the random walk's masks follow the boundary network at stride 4, so
    /// they round corners and miss thin parts. Only the labels the mask holds (and background) compete; pixels left
    /// unlabelled (<see cref="IgnoreLabel"/>) give no evidence and stay unlabelled.
    /// </summary>
    /// <param name="image">The image the mask belongs to.</param>
    /// <param name="mask">The pseudo mask (0 background, c + 1 class c, 255 unlabelled), the image's size.</param>
    /// <param name="crf">CRF parameters; null for the official ones.</param>
    /// <exception cref="ArgumentException">The mask is not the image's size.</exception>
    public static LabelMap RefineWithCrf(RgbImage image, LabelMap mask, DenseCrfOptions? crf = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(mask);
        if (mask.Width != image.Width || mask.Height != image.Height)
            throw new ArgumentException($"A {mask.Width}x{mask.Height} mask does not fit a {image.Width}x{image.Height} image.", nameof(mask));
        var values = mask.Values;
        var present = new SortedSet<byte> { 0 };
        foreach (byte v in values) if (v != IgnoreLabel) present.Add(v);
        if (present.Count == 1) return new LabelMap(mask.Width, mask.Height, (byte[])values.Clone());
        var labels = present.ToArray();
        var compact = new byte[256];
        for (int k = 0; k < labels.Length; k++) compact[labels[k]] = (byte)k;
        compact[IgnoreLabel] = IgnoreLabel; // unlabelled pixels are the CRF's unsure ones
        var input = new byte[values.Length];
        for (int i = 0; i < values.Length; i++) input[i] = compact[values[i]];
        var refined = DenseCrf.RefineLabels(image, input, labels.Length, crf, unsure: IgnoreLabel);
        for (int i = 0; i < values.Length; i++) refined[i] = values[i] == IgnoreLabel ? IgnoreLabel : labels[refined[i]];
        return new LabelMap(mask.Width, mask.Height, refined);
    }

    // Source rows/columns and weight of PyTorch's bilinear ×4 upsampling (align_corners=False) for the first `size` outputs.
    private static (int Lo, int Hi, float Frac)[] Taps(int size, int gridSize)
    {
        var taps = new (int, int, float)[size];
        for (int o = 0; o < size; o++)
        {
            float src = Math.Max(0f, (o + 0.5f) / 4f - 0.5f);
            int lo = Math.Min((int)src, gridSize - 1);
            int hi = Math.Min(lo + 1, gridSize - 1);
            taps[o] = (lo, hi, src - lo);
        }
        return taps;
    }
}
