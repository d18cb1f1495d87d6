namespace ReCam.Scenes;

/// <summary>Settings of <see cref="SceneGenerator"/>. The same settings and seed always give identical files.</summary>
public sealed record SceneOptions
{
    /// <summary>Number of scenes (ids <c>scene_000000</c> ...).</summary>
    public int Count { get; init; } = 600;

    /// <summary>Side of the square scene images, in pixels (at least 32).</summary>
    public int ImageSize { get; init; } = 160;

    /// <summary>Seed of the only random generator used (<see cref="Random"/>).</summary>
    public int Seed { get; init; }

    /// <summary>Fewest items per scene (at least 1).</summary>
    public int MinObjects { get; init; } = 1;

    /// <summary>Most items per scene (a scene may hold fewer when no placement keeps the others visible enough).</summary>
    public int MaxObjects { get; init; } = 3;

    /// <summary>Fraction of the scenes listed in <c>val.txt</c> (the last ones); the rest go to <c>train.txt</c>.</summary>
    public double ValFraction { get; init; } = 0.2;

    /// <summary>Smallest item side as a fraction of <see cref="ImageSize"/> (0.35 of 160 px ≈ 2× the 28 px item).</summary>
    public double MinItemFraction { get; init; } = 0.35;

    /// <summary>Largest item side as a fraction of <see cref="ImageSize"/> (0.65 of 160 px ≈ 3.7× the 28 px item).</summary>
    public double MaxItemFraction { get; init; } = 0.65;

    /// <summary>Each item keeps at least this fraction of its silhouette visible after later items occlude it.</summary>
    public double MinVisibleFraction { get; init; } = 0.6;

    /// <summary>Chance that an extra item is drawn from the confusion group (tops: t-shirt, pullover, coat, shirt;
    /// footwear: sandal, sneaker, ankle-boot) of an item already in the scene, with a different class.</summary>
    public double ConfusableProbability { get; init; } = 0.35;

    /// <summary>Width in pixels (0 to 2) of the 255 "ignore" band drawn just outside each visible item boundary.</summary>
    public int IgnoreBand { get; init; } = 1;

    /// <summary>Grey level (0..254) above which a Fashion-MNIST pixel belongs to the item silhouette.</summary>
    public int ItemThreshold { get; init; } = 4;

    /// <summary>JPEG quality of the scene images (1..100).</summary>
    public int JpegQuality { get; init; } = 95;

    /// <summary>Folder of the Fashion-MNIST files; null for <see cref="FashionMnist.DefaultDirectory"/>.</summary>
    public string? FashionMnistDirectory { get; init; }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        static void Check(bool ok, string message)
        {
            if (!ok) throw new ArgumentException($"Invalid scene options: {message}");
        }
        Check(Count >= 1, $"Count must be at least 1 (got {Count}).");
        Check(ImageSize is >= 32 and <= 4096, $"ImageSize must be in 32..4096 (got {ImageSize}).");
        Check(MinObjects >= 1 && MaxObjects >= MinObjects && MaxObjects <= 10,
            $"need 1 <= MinObjects <= MaxObjects <= 10 (got {MinObjects}, {MaxObjects}).");
        Check(ValFraction is >= 0 and < 1, $"ValFraction must be in [0, 1) (got {ValFraction}).");
        Check(MinItemFraction > 0 && MaxItemFraction >= MinItemFraction && MaxItemFraction <= 1,
            $"need 0 < MinItemFraction <= MaxItemFraction <= 1 (got {MinItemFraction}, {MaxItemFraction}).");
        Check(MinVisibleFraction is > 0 and <= 1, $"MinVisibleFraction must be in (0, 1] (got {MinVisibleFraction}).");
        Check(ConfusableProbability is >= 0 and <= 1, $"ConfusableProbability must be in [0, 1] (got {ConfusableProbability}).");
        Check(IgnoreBand is >= 0 and <= 2, $"IgnoreBand must be 0, 1 or 2 (got {IgnoreBand}).");
        Check(ItemThreshold is >= 0 and <= 254, $"ItemThreshold must be in 0..254 (got {ItemThreshold}).");
        Check(JpegQuality is >= 1 and <= 100, $"JpegQuality must be in 1..100 (got {JpegQuality}).");
    }
}
