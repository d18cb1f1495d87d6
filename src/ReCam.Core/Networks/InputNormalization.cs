namespace ReCam.Networks;

/// <summary>
/// How a backbone's weights expect pixels: channel order, value range, per-channel mean and standard
/// deviation. Applied as <c>(pixel * Scale - Mean[c]) / Std[c]</c>, channels in tensor order.
/// </summary>
/// <param name="Bgr">True if the tensor's channels are (B, G, R) rather than (R, G, B).</param>
/// <param name="Scale">Multiplier applied to 0-255 pixel values first (1/255 for torchvision, 1 for CNTK).</param>
/// <param name="Mean">Per-channel mean, in tensor channel order, after scaling.</param>
/// <param name="Std">Per-channel standard deviation, in tensor channel order.</param>
public sealed record InputNormalization(bool Bgr, float Scale, float[] Mean, float[] Std)
{
    /// <summary>torchvision ImageNet convention: RGB, 0-1, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).</summary>
    public static InputNormalization Torchvision { get; } =
        new(false, 1f / 255f, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>
    /// The convention of the ImageNet ResNet-18 in Microsoft.ML.DnnImageFeaturizer.ResNet18 (a CNTK
    /// export): BGR, 0-255, minus the mean (103.06, 115.90, 123.15), no division.
    /// </summary>
    public static InputNormalization CntkResNet18 { get; } =
        new(true, 1f, [103.06f, 115.90f, 123.15f], [1f, 1f, 1f]);

    /// <summary>Writes an interleaved RGB image into a CHW float buffer (length 3*H*W).</summary>
    /// <param name="rgb">Interleaved RGB bytes, length 3*<paramref name="pixels"/>.</param>
    /// <param name="pixels">Pixel count H*W.</param>
    /// <param name="chw">Destination, length 3*<paramref name="pixels"/>.</param>
    public void ToChw(ReadOnlySpan<byte> rgb, int pixels, Span<float> chw)
    {
        if (rgb.Length < 3 * pixels || chw.Length < 3 * pixels)
            throw new ArgumentException($"Buffers too small for {pixels} pixels.");
        for (int c = 0; c < 3; c++)
        {
            int source = Bgr ? 2 - c : c;
            float scale = Scale / Std[c];
            float offset = Mean[c] / Std[c];
            var plane = chw.Slice(c * pixels, pixels);
            for (int i = 0; i < pixels; i++) plane[i] = rgb[3 * i + source] * scale - offset;
        }
    }
}
