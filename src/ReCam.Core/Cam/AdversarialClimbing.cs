using ReCam.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace ReCam.Cam;

/// <summary>
/// One class's AdvCAM at one scale. The official code builds its map with Grad-CAM hooks on the last stage; for a 1×1
/// classifier on ReLU-free logits L that Grad-CAM has a closed form, used here: with P_n the number of positive cells of
/// L[n, c] in copy n (the image and its flip) and K⁺ the number of positive weights of class c,
/// G = (P_0 / N)·ReLU(L[0, c]) + flip((P_1 / N)·ReLU(L[1, c])), N = K⁺·(P_0 + P_1), the ratios held constant.
/// </summary>
internal static class AdversarialClimbing
{
    /// <summary>
    /// Climbs <paramref name="pair"/> (the normalised image and its flip, (2, 3, h, w)) for class <paramref name="cls"/> and returns
    /// the sum of its maps over the steps, (h', w') at stride 16, and before each step the margin the climbing raises, the
    /// class's score minus every other class's, over both copies (for diagnostics).
    /// </summary>
    public static (Tensor Map, float[] Margins) ClassMap(ResNet backbone, Tensor weight, Tensor pair, long cls, int iterations, AdvCamOptions options)
    {
        using var grad = enable_grad();
        var positive = weight[cls].gt(0).sum().item<long>();
        Tensor x = pair.detach().clone().requires_grad_(true);
        Tensor? initial = null, sum = null;
        var margins = new float[iterations];
        try
        {
            for (int t = 0; t < iterations; t++)
            {
                using var scope = NewDisposeScope();
                var logits = nn.functional.conv2d(backbone.call(x), weight); // (2, C, h', w'), no ReLU
                var own = logits.select(1, cls);
                var cells = own.gt(0).sum(new long[] { 1, 2 }).to(ScalarType.Float32).cpu().data<float>().ToArray();
                double n = Math.Max(positive * (double)(cells[0] + cells[1]), 1e-12);
                var relu = own.relu();
                var map = relu[0] * (cells[0] / n) + (relu[1] * (cells[1] / n)).flip(1);
                var score = logits.relu().mean(new long[] { 2, 3 }); // (2, C)
                var margin = (score.select(1, cls) * 2 - score.sum(1)).sum(); // s_c − Σ_{k≠c} s_k, both copies
                margins[t] = margin.item<float>();
                if (t == 0) initial = map.detach().MoveToOuterDisposeScope();
                if (sum is null) sum = map.detach().clone().MoveToOuterDisposeScope();
                else sum.add_(map.detach());
                if (t == iterations - 1) break; // the last step's map is counted; its update would not be

                var region = (map.detach() / map.detach().max().clamp_min(1e-12)).gt(options.MaskThreshold);
                var objective = margin - options.MaskCoefficient * ((map - initial!).abs() * region).sum();
                var g = torch.autograd.grad([objective], [x])[0];
                float low = x.min().item<float>(), high = x.max().item<float>();
                var next = (x.detach() + g * (options.StepSize / (g.abs().max().item<float>() + 1e-12)))
                    .clamp(low, high).detach().requires_grad_(true).MoveToOuterDisposeScope();
                x.Dispose();
                x = next;
            }
            return (sum!, margins);
        }
        finally
        {
            x.Dispose();
            initial?.Dispose();
        }
    }
}
