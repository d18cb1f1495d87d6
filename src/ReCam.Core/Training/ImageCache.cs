using System.Collections.Concurrent;
using ReCam.Imaging;

namespace ReCam.Training;

/// <summary>
/// Decodes training images on demand and keeps them decoded while the total stays under a byte budget,
/// so small datasets are decoded once per run and large ones stream from disk.
/// </summary>
internal sealed class ImageCache(long budgetBytes = 2L << 30)
{
    private readonly ConcurrentDictionary<string, RgbImage> _images = new(StringComparer.Ordinal);
    private long _bytes;

    /// <summary>Returns the decoded image at <paramref name="path"/>.</summary>
    public RgbImage Get(string path)
    {
        if (_images.TryGetValue(path, out var cached)) return cached;
        var image = ImageDecoder.LoadRgb(path);
        if (Interlocked.Add(ref _bytes, image.Pixels.Length) <= budgetBytes) _images[path] = image;
        else Interlocked.Add(ref _bytes, -image.Pixels.Length);
        return image;
    }
}
