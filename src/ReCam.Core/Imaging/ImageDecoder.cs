using System.Runtime.InteropServices;
using SkiaSharp;

namespace ReCam.Imaging;

/// <summary>
/// Decodes JPEG and PNG files (any PNG colour type and bit depth) to 8-bit RGB with SkiaSharp, like
/// <c>imageio.imread</c> / Pillow's <c>convert("RGB")</c> in ReCAM.
/// </summary>
/// <remarks>
/// Alpha is dropped: the RGB channels are taken as stored (decoded unpremultiplied), so a fully
/// transparent pixel keeps its stored colour, as Pillow's <c>convert("RGB")</c> does. Greyscale is
/// replicated to R = G = B; palette images are expanded through their palette. 16-bit samples keep
/// their high byte (Skia/libpng strip, as Pillow does; checked against Pillow 9.4). No ICC colour
/// management and no EXIF orientation are applied (neither does Pillow's plain open/convert).
/// </remarks>
public static class ImageDecoder
{
    /// <summary>
    /// The largest image decoded, in pixels (a 12-megapixel phone photo is well below): a header that declares more (a PNG of
    /// 30000x30000, often a crafted or damaged file) is refused before any buffer is allocated.
    /// </summary>
    public const long MaxPixels = 100_000_000;

    /// <summary>Decodes the image file at <paramref name="path"/> to RGB.</summary>
    /// <param name="path">JPEG or PNG file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a decodable image, or is truncated.</exception>
    public static RgbImage LoadRgb(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Decode(ReadFile(path), path);
    }

    /// <summary>Decodes an encoded image read from <paramref name="stream"/> (to its end) to RGB.</summary>
    /// <param name="stream">Stream positioned at the start of the encoded image; need not be seekable.</param>
    /// <param name="nameForErrors">Name (for example a path or URL) used in error messages.</param>
    /// <exception cref="InvalidDataException">The data is not a decodable image, or is truncated.</exception>
    public static RgbImage LoadRgb(Stream stream, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(buffer.ToArray(), nameForErrors ?? "<stream>");
    }

    /// <summary>Reads the size of the image at <paramref name="path"/> from its header, without decoding pixels.</summary>
    /// <param name="path">JPEG or PNG file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a recognised image.</exception>
    public static (int Width, int Height) ReadSize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileStream file;
        try
        {
            file = File.OpenRead(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"Image file not found: '{path}'.", path, e);
        }
        using (file)
        {
            // Skia reads only as much of the stream as the header needs.
            using SKCodec? codec = file.Length == 0 ? null : SKCodec.Create(file);
            if (codec is null || codec.Info.Width <= 0 || codec.Info.Height <= 0)
            {
                throw NotAnImage(path);
            }
            return (codec.Info.Width, codec.Info.Height);
        }
    }

    private static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"Image file not found: '{path}'.", path, e);
        }
    }

    private static InvalidDataException NotAnImage(string name) =>
        new($"'{name}' is not a decodable image (expected JPEG or PNG; the data is empty, corrupt or of an unsupported format).");

    private static RgbImage Decode(byte[] encoded, string name)
    {
        using var data = SKData.CreateCopy(encoded);
        using SKCodec? codec = encoded.Length == 0 ? null : SKCodec.Create(data);
        if (codec is null || codec.Info.Width <= 0 || codec.Info.Height <= 0)
        {
            throw NotAnImage(name);
        }
        int width = codec.Info.Width, height = codec.Info.Height;
        if ((long)width * height > MaxPixels)
            throw new InvalidDataException(
                $"Image '{name}' declares {width}x{height} pixels, more than the {MaxPixels / 1_000_000} megapixels ReCam decodes; downscale it first.");
        // No colour space: Skia then converts nothing (no ICC handling), like Pillow.
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[checked(width * height * 4)];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try
        {
            result = codec.GetPixels(info, handle.AddrOfPinnedObject());
        }
        finally
        {
            handle.Free();
        }
        if (result != SKCodecResult.Success)
        {
            string why = result == SKCodecResult.IncompleteInput ? "the data is truncated (incomplete input)" : $"decoder result {result}";
            throw new InvalidDataException($"Cannot decode image '{name}' ({width}x{height}): {why}.");
        }
        var rgb = new byte[width * height * 3];
        for (int i = 0, o = 0; o < rgb.Length; i += 4, o += 3)
        {
            rgb[o] = rgba[i];
            rgb[o + 1] = rgba[i + 1];
            rgb[o + 2] = rgba[i + 2];
        }
        return new RgbImage(width, height, rgb);
    }
}
