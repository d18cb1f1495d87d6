using ReCam.Cam;
using ReCam.Networks;

namespace ReCam.MLNet;

/// <summary>How a ReCAM transformer builds its maps from W1 and W2 (saved with it).</summary>
internal sealed record ReCamMapSettings(WeightCombination Combination, double W2Gain, PixelClassSource PixelClass)
{
    /// <summary>Whether W1 ranks the classes at each pixel.</summary>
    public bool RanksWithW1 => PixelClassSources.RanksWithW1(PixelClass, Combination);
}
