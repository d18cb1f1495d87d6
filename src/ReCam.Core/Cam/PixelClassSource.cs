namespace ReCam.Cam;

/// <summary>
/// Which classifier decides the class of each pixel of a ReCAM map (which of the image's classes a foreground pixel belongs
/// to); how far the foreground reaches always comes from the extraction weight.
/// </summary>
public enum PixelClassSource
{
    /// <summary>The extraction weight itself (W1⊙W2 by default), as the official code.</summary>
    Combined,

    /// <summary>
    /// W1, the multi-label classifier of the re-activated network (our extension): at each pixel the classes keep W1's
    /// ranking of its normalised maps, scaled so that their maximum is the extraction weight's. On generated scenes W2's
    /// reweighting widened the maps but gave more pixels to a look-alike class present in the same image than W1's maps do.
    /// </summary>
    W1,
}

/// <summary>The rules every ReCAM extraction (command line and ML.NET) applies to a <see cref="PixelClassSource"/>.</summary>
public static class PixelClassSources
{
    /// <summary>
    /// Whether W1 ranks the classes of maps made with <paramref name="combination"/>: never when the maps are W1's own, where the
    /// ranking would change nothing.
    /// </summary>
    public static bool RanksWithW1(PixelClassSource source, Networks.WeightCombination combination) =>
        source == PixelClassSource.W1 && combination != Networks.WeightCombination.W1;

    /// <summary>Throws <see cref="Training.InvalidOptionException"/> (option <c>PixelClass</c>) for an undefined value.</summary>
    public static void Check(PixelClassSource source)
    {
        if (!Enum.IsDefined(source)) throw new Training.InvalidOptionException("PixelClass", $"has the unknown value {(int)source}");
    }
}
