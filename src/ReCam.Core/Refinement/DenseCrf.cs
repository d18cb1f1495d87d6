using ReCam.Imaging;

namespace ReCam.Refinement;

/// <summary>
/// Fully connected CRF over the pixels of an RGB image with Potts compatibilities and two Gaussian kernels
/// (Krähenbühl and Koltun 2011), solved by mean-field inference with permutohedral-lattice filtering, as the
/// official code runs it through pydensecrf: kernels normalised symmetrically (<c>D^-1/2 K D^-1/2</c>, each pixel's
/// own term included), <c>Q ← softmax(-U + Σ_k w_k K̃_k Q)</c>.
/// </summary>
public static class DenseCrf
{
    /// <summary>
    /// Refines a hard labelling (the official <c>crf_inference_label</c>): unary from the labels with
    /// <see cref="DenseCrfOptions.LabelConfidence"/>, inference, argmax per pixel.
    /// </summary>
    /// <param name="image">The image whose colours drive the appearance kernel.</param>
    /// <param name="labels">One label per pixel, row-major, each below <paramref name="labelCount"/>.</param>
    /// <param name="labelCount">Number of labels L (at least 1).</param>
    /// <param name="options">CRF parameters; null for the official ones.</param>
    /// <param name="unsure">A value that marks pixels without a label: their unary is uniform, so the CRF alone decides them
    /// (pydensecrf's <c>zero_unsure</c>, with a value of our choosing); null when every pixel has a label.</param>
    /// <returns>The refined label of each pixel, row-major.</returns>
    public static byte[] RefineLabels(RgbImage image, ReadOnlySpan<byte> labels, int labelCount, DenseCrfOptions? options = null, byte? unsure = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        options ??= new DenseCrfOptions();
        options.Validate();
        int n = image.Width * image.Height;
        if (labels.Length != n)
            throw new ArgumentException($"Got {labels.Length} labels for a {image.Width}x{image.Height} image.", nameof(labels));
        if (labelCount is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(labelCount), labelCount, "Label count must be 1 to 256.");
        if (unsure < labelCount) throw new ArgumentOutOfRangeException(nameof(unsure), unsure, $"The unsure mark must not be a label (below {labelCount}).");
        for (int i = 0; i < n; i++)
            if (labels[i] >= labelCount && labels[i] != unsure)
                throw new ArgumentException($"Label {labels[i]} at pixel {i} is not below the label count {labelCount}.", nameof(labels));
        if (labelCount == 1) return new byte[n];
        float own = (float)-Math.Log(options.LabelConfidence);
        float other = (float)-Math.Log((1 - options.LabelConfidence) / (labelCount - 1));
        var unary = new float[n * labelCount];
        Array.Fill(unary, other);
        float uniform = (float)Math.Log(labelCount);
        for (int i = 0; i < n; i++)
        {
            if (labels[i] == unsure) unary.AsSpan(i * labelCount, labelCount).Fill(uniform);
            else unary[i * labelCount + labels[i]] = own;
        }
        return Argmax(Infer(image, unary, labelCount, options), labelCount);
    }

    /// <summary>Mean-field inference from unary energies; returns the marginals Q, point-major [pixel, label].</summary>
    /// <param name="image">The image.</param>
    /// <param name="unary">Energies (negative log-probabilities), point-major [pixel, label].</param>
    /// <param name="labelCount">Number of labels L.</param>
    /// <param name="options">CRF parameters.</param>
    public static float[] Infer(RgbImage image, float[] unary, int labelCount, DenseCrfOptions options)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(unary);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int n = image.Width * image.Height;
        if (unary.Length != (long)n * labelCount)
            throw new ArgumentException($"Expected {n}x{labelCount} unary energies, got {unary.Length}.", nameof(unary));

        var kernels = new List<Kernel>(2);
        if (options.GaussianWeight > 0)
            kernels.Add(new Kernel(PositionFeatures(image, options.GaussianSxy), 2, n, (float)options.GaussianWeight));
        if (options.BilateralWeight > 0)
            kernels.Add(new Kernel(BilateralFeatures(image, options.BilateralSxy, options.BilateralSrgb), 5, n, (float)options.BilateralWeight));

        var q = new float[unary.Length];
        var logits = new float[unary.Length];
        for (int i = 0; i < unary.Length; i++) logits[i] = -unary[i];
        SoftmaxRows(logits, q, labelCount);
        var scaled = new float[unary.Length];
        var filtered = new float[unary.Length];
        for (int it = 0; it < options.Iterations; it++)
        {
            for (int i = 0; i < unary.Length; i++) logits[i] = -unary[i];
            foreach (var kernel in kernels)
                kernel.AddMessage(q, scaled, filtered, logits, labelCount);
            SoftmaxRows(logits, q, labelCount);
        }
        return q;
    }

    /// <summary>Features of the smoothness kernel: (x, y) / sxy per pixel.</summary>
    internal static float[] PositionFeatures(RgbImage image, double sxy)
    {
        var f = new float[image.Width * image.Height * 2];
        for (int y = 0, i = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++, i++)
                (f[2 * i], f[2 * i + 1]) = ((float)(x / sxy), (float)(y / sxy));
        return f;
    }

    /// <summary>Features of the appearance kernel: (x / sxy, y / sxy, r / srgb, g / srgb, b / srgb) per pixel.</summary>
    internal static float[] BilateralFeatures(RgbImage image, double sxy, double srgb)
    {
        var f = new float[image.Width * image.Height * 5];
        var px = image.Pixels;
        for (int y = 0, i = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++, i++)
            {
                f[5 * i] = (float)(x / sxy);
                f[5 * i + 1] = (float)(y / sxy);
                for (int c = 0; c < 3; c++) f[5 * i + 2 + c] = (float)(px[3 * i + c] / srgb);
            }
        return f;
    }

    internal static byte[] Argmax(float[] q, int labelCount)
    {
        var result = new byte[q.Length / labelCount];
        for (int i = 0; i < result.Length; i++)
        {
            int best = 0;
            for (int l = 1; l < labelCount; l++)
                if (q[i * labelCount + l] > q[i * labelCount + best]) best = l;
            result[i] = (byte)best;
        }
        return result;
    }

    private static void SoftmaxRows(float[] logits, float[] q, int labelCount)
    {
        for (int i = 0; i < logits.Length; i += labelCount)
        {
            var row = logits.AsSpan(i, labelCount);
            var dst = q.AsSpan(i, labelCount);
            float max = row[0];
            for (int l = 1; l < labelCount; l++) max = MathF.Max(max, row[l]);
            float sum = 0;
            for (int l = 0; l < labelCount; l++) sum += dst[l] = MathF.Exp(row[l] - max);
            for (int l = 0; l < labelCount; l++) dst[l] /= sum;
        }
    }

    /// <summary>One Potts kernel with its lattice and symmetric normalisation <c>1/sqrt(Σ_j k_ij)</c>.</summary>
    private sealed class Kernel
    {
        private readonly PermutohedralLattice _lattice;
        private readonly float[] _norm;
        private readonly float _weight;

        public Kernel(float[] features, int dims, int points, float weight)
        {
            _lattice = new PermutohedralLattice(features, points, dims);
            _weight = weight;
            var ones = new float[points];
            Array.Fill(ones, 1f);
            _norm = new float[points];
            _lattice.Filter(ones, _norm, 1);
            for (int i = 0; i < points; i++) _norm[i] = 1f / MathF.Sqrt(_norm[i] + 1e-20f);
        }

        /// <summary>logits += weight · D^-1/2 K D^-1/2 q.</summary>
        public void AddMessage(float[] q, float[] scaled, float[] filtered, float[] logits, int labelCount)
        {
            for (int i = 0; i < _norm.Length; i++)
                for (int l = 0; l < labelCount; l++)
                    scaled[i * labelCount + l] = q[i * labelCount + l] * _norm[i];
            _lattice.Filter(scaled, filtered, labelCount);
            for (int i = 0; i < _norm.Length; i++)
            {
                float s = _weight * _norm[i];
                for (int l = 0; l < labelCount; l++) logits[i * labelCount + l] += s * filtered[i * labelCount + l];
            }
        }
    }
}
