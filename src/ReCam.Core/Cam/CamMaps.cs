namespace ReCam.Cam;

/// <summary>
/// The class activation maps of one image (the <c>cams/&lt;id&gt;.npz</c> artifact): for each of the K classes
/// present in the image-level label, a stride-4 map and a full-resolution map, each max-normalised.
/// The arrays are held as given (not copied).
/// </summary>
public sealed class CamMaps
{
    /// <summary>Creates the maps, checking that every array length matches its shape.</summary>
    /// <param name="keys">0-based indices of the present classes, strictly ascending (K entries; K may be 0).</param>
    /// <param name="cam">Stride-4 maps, shape [K, <paramref name="camHeight"/>, <paramref name="camWidth"/>], C order.</param>
    /// <param name="camHeight">Must be ceil(<paramref name="height"/> / 4).</param>
    /// <param name="camWidth">Must be ceil(<paramref name="width"/> / 4).</param>
    /// <param name="highRes">Full-resolution maps, shape [K, <paramref name="height"/>, <paramref name="width"/>], C order.</param>
    /// <param name="height">Image height H (&gt;= 1).</param>
    /// <param name="width">Image width W (&gt;= 1).</param>
    public CamMaps(long[] keys, float[] cam, int camHeight, int camWidth, float[] highRes, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(cam);
        ArgumentNullException.ThrowIfNull(highRes);
        if (height < 1 || width < 1)
            throw new ArgumentException($"Image size {height}x{width} must be at least 1x1.");
        if (camHeight != StridedSize(height) || camWidth != StridedSize(width))
            throw new ArgumentException(
                $"Stride-4 map size {camHeight}x{camWidth} does not match image size {height}x{width} (expected {StridedSize(height)}x{StridedSize(width)}).");
        for (int i = 0; i < keys.Length; i++)
        {
            if (keys[i] < 0) throw new ArgumentException($"Class key {keys[i]} is negative.", nameof(keys));
            if (i > 0 && keys[i] <= keys[i - 1]) throw new ArgumentException("Class keys must be strictly ascending.", nameof(keys));
        }
        long k = keys.Length;
        if (cam.Length != k * camHeight * camWidth)
            throw new ArgumentException($"cam has {cam.Length} values, expected {k}x{camHeight}x{camWidth}.", nameof(cam));
        if (highRes.Length != k * height * width)
            throw new ArgumentException($"high_res has {highRes.Length} values, expected {k}x{height}x{width}.", nameof(highRes));
        (Keys, Cam, CamHeight, CamWidth, HighRes, Height, Width) = (keys, cam, camHeight, camWidth, highRes, height, width);
    }

    /// <summary>0-based indices of the present classes, ascending.</summary>
    public long[] Keys { get; }

    /// <summary>Number of maps K (= number of keys).</summary>
    public int Count => Keys.Length;

    /// <summary>Stride-4 maps, shape [K, <see cref="CamHeight"/>, <see cref="CamWidth"/>], C order.</summary>
    public float[] Cam { get; }

    /// <summary>Height of the stride-4 maps, ceil(H / 4).</summary>
    public int CamHeight { get; }

    /// <summary>Width of the stride-4 maps, ceil(W / 4).</summary>
    public int CamWidth { get; }

    /// <summary>Full-resolution maps, shape [K, <see cref="Height"/>, <see cref="Width"/>], C order.</summary>
    public float[] HighRes { get; }

    /// <summary>Image height H.</summary>
    public int Height { get; }

    /// <summary>Image width W.</summary>
    public int Width { get; }

    /// <summary>The full-resolution map of the <paramref name="index"/>-th present class (H*W values).</summary>
    public ReadOnlySpan<float> HighResPlane(int index) => HighRes.AsSpan(checked(index * Height * Width), Height * Width);

    /// <summary>The stride-4 map of the <paramref name="index"/>-th present class.</summary>
    public ReadOnlySpan<float> CamPlane(int index) => Cam.AsSpan(checked(index * CamHeight * CamWidth), CamHeight * CamWidth);

    /// <summary>ceil(<paramref name="size"/> / 4): the size of the stride-4 map for an image side.</summary>
    public static int StridedSize(int size) => (size + 3) / 4;
}
