using ReCam.Cam;
using ReCam.Imaging;

namespace ReCam.Refinement;

/// <summary>
/// Inter-pixel relation (IR) labels, the official <c>cam_to_ir_label</c>: confident foreground and background from
/// a seed map's full-resolution maps at two background thresholds, each sharpened by a dense CRF on the image.
/// A pixel is class c where the high-threshold CRF says c, background only where both CRFs say background, and
/// <see cref="Unsure"/> where the low-threshold CRF sees an object the high-threshold one does not.
/// Values: 0 background, c + 1 for class c, 255 unsure.
/// </summary>
public static class IrLabel
{
    /// <summary>The value of pixels neither confidently foreground nor confidently background.</summary>
    public const byte Unsure = 255;

    /// <summary>The official confident-foreground threshold (VOC, maps whose best seed threshold is about 0.21).</summary>
    public const double OfficialForegroundThreshold = 0.35;

    /// <summary>The official confident-background threshold.</summary>
    public const double OfficialBackgroundThreshold = 0.10;

    /// <summary>Makes the IR label of one image.</summary>
    /// <param name="image">The RGB image the maps were extracted from (the CRF's appearance kernel uses its colours).</param>
    /// <param name="maps">Its maps; their size must be the image's.</param>
    /// <param name="foregroundThreshold">Background plane for confident foreground (higher: fewer, surer object pixels).</param>
    /// <param name="backgroundThreshold">Background plane for confident background (lower: fewer, surer background pixels).</param>
    /// <param name="crf">CRF parameters; null for the official ones.</param>
    public static LabelMap Make(RgbImage image, CamMaps maps, double foregroundThreshold, double backgroundThreshold, DenseCrfOptions? crf = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(maps);
        if (image.Width != maps.Width || image.Height != maps.Height)
            throw new ArgumentException($"The maps are {maps.Width}x{maps.Height} but the image is {image.Width}x{image.Height}.", nameof(maps));
        CheckThresholds(foregroundThreshold, backgroundThreshold);
        if (maps.Keys.Any(k => k + 1 >= Unsure))
            throw new ArgumentException($"Class index {maps.Keys.Max()} does not fit an 8-bit IR label (at most {Unsure - 2}).", nameof(maps));

        var foreground = RefinedSeeds(image, maps, (float)foregroundThreshold, crf);
        var background = RefinedSeeds(image, maps, (float)backgroundThreshold, crf);
        var label = new byte[foreground.Length];
        for (int i = 0; i < label.Length; i++)
            label[i] = foreground[i] != 0 ? foreground[i] : background[i] == 0 ? (byte)0 : Unsure;
        return new LabelMap(image.Width, image.Height, label);
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless 0 &lt;= background &lt;= foreground &lt;= 1.</summary>
    public static void CheckThresholds(double foregroundThreshold, double backgroundThreshold)
    {
        if (!(backgroundThreshold >= 0 && backgroundThreshold <= foregroundThreshold && foregroundThreshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(foregroundThreshold),
                $"Confident thresholds must satisfy 0 <= background ({backgroundThreshold}) <= foreground ({foregroundThreshold}) <= 1.");
    }

    // argmax over [threshold plane; maps] (background wins ties, as np.argmax takes the first), CRF, then 0 / class + 1.
    private static byte[] RefinedSeeds(RgbImage image, CamMaps maps, float threshold, DenseCrfOptions? crf)
    {
        int n = maps.Height * maps.Width;
        var seeds = new byte[n];
        var best = new float[n];
        Array.Fill(best, threshold);
        for (int k = 0; k < maps.Count; k++)
        {
            var plane = maps.HighResPlane(k);
            for (int i = 0; i < n; i++)
                if (plane[i] > best[i]) (best[i], seeds[i]) = (plane[i], (byte)(k + 1));
        }
        var refined = DenseCrf.RefineLabels(image, seeds, maps.Count + 1, crf);
        for (int i = 0; i < n; i++) refined[i] = refined[i] == 0 ? (byte)0 : (byte)(maps.Keys[refined[i] - 1] + 1);
        return refined;
    }
}
