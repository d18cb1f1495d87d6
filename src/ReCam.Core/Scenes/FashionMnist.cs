using System.Buffers.Binary;
using System.IO.Compression;

namespace ReCam.Scenes;

/// <summary>
/// The Fashion-MNIST training split (60,000 grey 28×28 product images, 10 classes, MIT licence) read from its
/// gzip'd IDX files. Only the training split is exposed: the test split is reserved for held-out evaluation.
/// On Debian the files come from <c>apt-get install dataset-fashion-mnist</c>.
/// </summary>
internal sealed class FashionMnist
{
    /// <summary>Environment variable that overrides <see cref="SystemDirectory"/>.</summary>
    public const string EnvironmentVariable = "RECAM_FASHION_MNIST";

    /// <summary>Where the <c>dataset-fashion-mnist</c> package installs the files.</summary>
    public const string SystemDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Side length of every item image, in pixels.</summary>
    public const int Side = 28;

    /// <summary>File name of the training images.</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte.gz";

    /// <summary>File name of the training labels.</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte.gz";

    private readonly byte[] _pixels;
    private readonly byte[] _labels;

    private FashionMnist(string directory, byte[] pixels, byte[] labels)
    {
        Directory = directory;
        _pixels = pixels;
        _labels = labels;
    }

    /// <summary>The 10 class names, index = Fashion-MNIST label (file-name friendly: no spaces or slashes).</summary>
    public static IReadOnlyList<string> ClassNames { get; } = Array.AsReadOnly(new[]
    {
        "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot",
    });

    /// <summary>The folder used when none is given: <c>$RECAM_FASHION_MNIST</c> if set, else <see cref="SystemDirectory"/>.</summary>
    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } dir ? dir : SystemDirectory;

    /// <summary>The folder the files were read from.</summary>
    public string Directory { get; }

    /// <summary>Number of items (60,000 for the official training split).</summary>
    public int Count => _labels.Length;

    /// <summary>The class label (0..9) of item <paramref name="index"/>.</summary>
    /// <param name="index">Item index, 0 ≤ index &lt; <see cref="Count"/>.</param>
    public int Label(int index) => _labels[index];

    /// <summary>The 28×28 row-major grey pixels of item <paramref name="index"/> (0 = background).</summary>
    /// <param name="index">Item index, 0 ≤ index &lt; <see cref="Count"/>.</param>
    public ReadOnlySpan<byte> Image(int index) => _pixels.AsSpan(checked(index * Side * Side), Side * Side);

    /// <summary>Loads the training split from <paramref name="directory"/> (default <see cref="DefaultDirectory"/>).</summary>
    /// <param name="directory">Folder holding <c>train-images-idx3-ubyte.gz</c> and <c>train-labels-idx1-ubyte.gz</c>.</param>
    /// <exception cref="FileNotFoundException">A file is missing; the message tells how to install the package.</exception>
    /// <exception cref="InvalidDataException">A file is not a valid gzip'd IDX file of 28×28 images and labels 0..9.</exception>
    public static FashionMnist LoadTrain(string? directory = null)
    {
        directory ??= DefaultDirectory;
        string imagesPath = Path.Combine(directory, TrainImagesFile);
        string labelsPath = Path.Combine(directory, TrainLabelsFile);
        foreach (string path in new[] { imagesPath, labelsPath })
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"Fashion-MNIST file not found: '{path}'. Install the data with `apt-get install dataset-fashion-mnist` "
                    + $"(files go to {SystemDirectory}), or set {EnvironmentVariable} to the folder holding {TrainImagesFile} "
                    + $"and {TrainLabelsFile}.", path);
        byte[] images = Gunzip(imagesPath);
        byte[] labels = Gunzip(labelsPath);
        int n = CheckIdx(images, imagesPath, magic: 0x803, dims: 3);
        if (BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(8)) != Side || BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(12)) != Side)
            throw new InvalidDataException($"'{imagesPath}': images are not {Side}x{Side}.");
        if (images.Length != 16 + (long)n * Side * Side)
            throw new InvalidDataException($"'{imagesPath}': {images.Length - 16} pixel bytes for {n} images.");
        int m = CheckIdx(labels, labelsPath, magic: 0x801, dims: 1);
        if (m != n || labels.Length != 8 + m)
            throw new InvalidDataException($"'{labelsPath}': {m} labels ({labels.Length - 8} bytes) for {n} images in '{imagesPath}'.");
        byte[] labelBytes = labels[8..];
        int bad = Array.FindIndex(labelBytes, l => l >= ClassNames.Count);
        if (bad >= 0) throw new InvalidDataException($"'{labelsPath}': label {labelBytes[bad]} of item {bad} is out of range 0..9.");
        return new FashionMnist(Path.GetFullPath(directory), images[16..], labelBytes);
    }

    private static byte[] Gunzip(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var memory = new MemoryStream();
            gzip.CopyTo(memory);
            return memory.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid gzip file: {e.Message}", e);
        }
    }

    private static int CheckIdx(byte[] data, string path, int magic, int dims)
    {
        if (data.Length < 4 + 4 * dims || BinaryPrimitives.ReadInt32BigEndian(data) != magic)
            throw new InvalidDataException($"'{path}' is not an IDX file with magic 0x{magic:x8}.");
        int n = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
        return n >= 0 ? n : throw new InvalidDataException($"'{path}': negative item count.");
    }
}
