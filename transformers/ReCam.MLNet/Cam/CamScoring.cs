using ReCam.Imaging;
using ReCam.Networks;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>The multi-label classifier's output for one image, shared by the CAM and ReCAM transformers.</summary>
internal static class CamScoring
{
    /// <summary>Sigmoid of W1 · GAP(F) for every class: one forward pass at scale 1, no flip. The caller serialises access to the network.</summary>
    public static float[] Probabilities(CamNetwork network, InputNormalization normalization, Device device, RgbImage image)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int pixels = image.Width * image.Height;
        var chw = new float[3 * pixels];
        normalization.ToChw(image.Pixels, pixels, chw);
        var x = tensor(chw, [1, 3, image.Height, image.Width]).to(device);
        var p = network.call(x).sigmoid().cpu().contiguous();
        return p.data<float>().ToArray();
    }
}
