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
