using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ReCam.Refinement;

/// <summary>
/// Approximate Gaussian filtering in a d-dimensional feature space through the permutohedral lattice
/// (Adams, Baek and Davis, Eurographics 2010), the filter that makes dense CRF inference linear in the number of
/// pixels (Krähenbühl and Koltun, NIPS 2011). Points are embedded in a lattice of simplices; a value is splatted
/// onto the d+1 vertices of its simplex with barycentric weights, blurred with [1/2, 1, 1/2] along each of the
/// d+1 lattice axes, and sliced back. The result approximates <c>out_i = Σ_j exp(-|f_i - f_j|² / 2) v_j</c> up to
/// one global scale (the point itself included), with features already divided by their standard deviations.
/// </summary>
/// <remarks>The lattice is built once per feature set and filters any number of value vectors; it is not thread-safe
/// for concurrent <see cref="Filter"/> calls on the same scratch buffers, so each call allocates its own.</remarks>
internal sealed class PermutohedralLattice
{
    private readonly int _points, _dims;
    private readonly int[] _vertex;      // [point, d+1]: index of each enclosing simplex vertex in the lattice
    private readonly float[] _weight;    // [point, d+1]: its barycentric weight
    private readonly int[] _neighbour;   // [axis, lattice point, 2]: the two neighbours along an axis, -1 when absent

    /// <summary>Builds the lattice for <paramref name="points"/> feature vectors of <paramref name="dims"/> values each.</summary>
    /// <param name="features">Point-major features, <c>features[i * dims + k]</c>, already divided by each dimension's standard deviation.</param>
    /// <param name="points">Number of points (at least 1).</param>
    /// <param name="dims">Feature dimensions (1 to 16).</param>
    public PermutohedralLattice(ReadOnlySpan<float> features, int points, int dims)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dims, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dims, 16);
        if (features.Length != (long)points * dims)
            throw new ArgumentException($"Expected {points}x{dims} feature values, got {features.Length}.", nameof(features));
        _points = points;
        _dims = dims;
        int d = dims, d1 = dims + 1;
        _vertex = new int[points * d1];
        _weight = new float[points * d1];
        var table = new LatticeTable(d, points * d1);

        // Scale so that the lattice blur approximates a unit Gaussian in feature space (the paper's sqrt(2/3)(d+1)).
        var scale = new float[d];
        for (int k = 0; k < d; k++) scale[k] = (float)((d + 1) * Math.Sqrt(2.0 / 3.0) / Math.Sqrt((k + 1.0) * (k + 2.0)));

        Span<float> elevated = stackalloc float[d1];
        Span<int> nearest = stackalloc int[d1];
        Span<int> rank = stackalloc int[d1];
        Span<float> barycentric = stackalloc float[d1 + 1];
        Span<int> key = stackalloc int[d];
        for (int i = 0; i < points; i++)
        {
            var f = features.Slice(i * d, d);
            // Project onto the hyperplane Σ x = 0 of R^(d+1), where the lattice lives.
            float sum = 0;
            for (int j = d; j > 0; j--)
            {
                float cf = f[j - 1] * scale[j - 1];
                elevated[j] = sum - j * cf;
                sum += cf;
            }
            elevated[0] = sum;

            // Nearest remainder-0 lattice point, then the ordering of the residuals gives the enclosing simplex.
            int coordinateSum = 0;
            for (int j = 0; j <= d; j++)
            {
                int rounded = (int)MathF.Round(elevated[j] / d1);
                nearest[j] = rounded * d1;
                coordinateSum += rounded;
            }
            rank.Clear();
            for (int j = 0; j < d; j++)
            {
                float rj = elevated[j] - nearest[j];
                for (int l = j + 1; l <= d; l++)
                {
                    if (rj < elevated[l] - nearest[l]) rank[j]++;
                    else rank[l]++;
                }
            }
            // The rounded point may be off the plane; shifting ranks by the coordinate sum brings it back.
            for (int j = 0; j <= d; j++)
            {
                rank[j] += coordinateSum;
                if (rank[j] < 0) { rank[j] += d1; nearest[j] += d1; }
                else if (rank[j] > d) { rank[j] -= d1; nearest[j] -= d1; }
            }

            barycentric.Clear();
            for (int j = 0; j <= d; j++)
            {
                float v = (elevated[j] - nearest[j]) / d1;
                barycentric[d - rank[j]] += v;
                barycentric[d - rank[j] + 1] -= v;
            }
            barycentric[0] += 1 + barycentric[d1];

            // Vertex r of the simplex: the remainder-0 point plus the canonical offset of remainder r.
            for (int r = 0; r <= d; r++)
            {
                for (int j = 0; j < d; j++) key[j] = nearest[j] + (rank[j] <= d - r ? r : r - d1);
                _vertex[i * d1 + r] = table.FindOrAdd(key);
                _weight[i * d1 + r] = barycentric[r];
            }
        }

        LatticePoints = table.Count;
        _neighbour = new int[d1 * LatticePoints * 2];
        Span<int> below = stackalloc int[d];
        Span<int> above = stackalloc int[d];
        for (int axis = 0; axis <= d; axis++)
        {
            for (int p = 0; p < LatticePoints; p++)
            {
                var k = table.Key(p);
                for (int j = 0; j < d; j++) { below[j] = k[j] - 1; above[j] = k[j] + 1; }
                if (axis < d) { below[axis] = k[axis] + d; above[axis] = k[axis] - d; }
                int at = (axis * LatticePoints + p) * 2;
                _neighbour[at] = table.Find(below);
                _neighbour[at + 1] = table.Find(above);
            }
        }
    }

    /// <summary>Number of distinct lattice vertices the points occupy.</summary>
    public int LatticePoints { get; }

    /// <summary>Filters <paramref name="values"/> (point-major, <paramref name="valueSize"/> per point) into <paramref name="output"/>.</summary>
    public void Filter(ReadOnlySpan<float> values, Span<float> output, int valueSize)
    {
        int d1 = _dims + 1;
        if (values.Length != (long)_points * valueSize || output.Length != values.Length)
            throw new ArgumentException($"Expected {_points}x{valueSize} values in and out.");
        // One spare row at the end stands for absent neighbours (always zero), so the blur needs no branch.
        int zero = LatticePoints;
        var current = new float[(LatticePoints + 1) * valueSize];
        var next = new float[(LatticePoints + 1) * valueSize];
        ref float vertex0 = ref MemoryMarshal.GetArrayDataReference(current);

        ref readonly float in0 = ref MemoryMarshal.GetReference(values);
        for (int i = 0; i < _points; i++)
        {
            for (int r = 0; r < d1; r++)
            {
                float w = _weight[i * d1 + r];
                ref float target = ref Unsafe.Add(ref vertex0, _vertex[i * d1 + r] * valueSize);
                for (int c = 0; c < valueSize; c++) Unsafe.Add(ref target, c) += w * Unsafe.Add(ref Unsafe.AsRef(in in0), i * valueSize + c);
            }
        }

        for (int axis = 0; axis < d1; axis++)
        {
            ref float src0 = ref MemoryMarshal.GetArrayDataReference(current);
            ref float dst0 = ref MemoryMarshal.GetArrayDataReference(next);
            for (int p = 0; p < LatticePoints; p++)
            {
                int at = (axis * LatticePoints + p) * 2;
                int lo = _neighbour[at] < 0 ? zero : _neighbour[at], hi = _neighbour[at + 1] < 0 ? zero : _neighbour[at + 1];
                ref float self = ref Unsafe.Add(ref src0, p * valueSize);
                ref float a = ref Unsafe.Add(ref src0, lo * valueSize);
                ref float b = ref Unsafe.Add(ref src0, hi * valueSize);
                ref float dst = ref Unsafe.Add(ref dst0, p * valueSize);
                for (int c = 0; c < valueSize; c++)
                    Unsafe.Add(ref dst, c) = Unsafe.Add(ref self, c) + 0.5f * (Unsafe.Add(ref a, c) + Unsafe.Add(ref b, c));
            }
            (current, next) = (next, current);
        }

        // The blur's total weight grows with d; this constant keeps the kernel's peak near 1 (it cancels under normalisation).
        float alpha = 1f / (1f + MathF.Pow(2f, -_dims));
        ref float result0 = ref MemoryMarshal.GetArrayDataReference(current);
        ref float out0 = ref MemoryMarshal.GetReference(output);
        for (int i = 0; i < _points; i++)
        {
            ref float o = ref Unsafe.Add(ref out0, i * valueSize);
            for (int c = 0; c < valueSize; c++) Unsafe.Add(ref o, c) = 0;
            for (int r = 0; r < d1; r++)
            {
                float w = _weight[i * d1 + r] * alpha;
                ref float src = ref Unsafe.Add(ref result0, _vertex[i * d1 + r] * valueSize);
                for (int c = 0; c < valueSize; c++) Unsafe.Add(ref o, c) += w * Unsafe.Add(ref src, c);
            }
        }
    }

    /// <summary>Open-addressing table from a lattice key (its first d coordinates; the last is implied) to a dense index.</summary>
    private sealed class LatticeTable
    {
        private readonly int _d;
        private int[] _keys;
        private int[] _slots;
        private int _mask;

        public LatticeTable(int d, int expected)
        {
            _d = d;
            int capacity = 16;
            while (capacity < expected * 2L && capacity < (1 << 30)) capacity <<= 1;
            _slots = new int[capacity];
            Array.Fill(_slots, -1);
            _mask = capacity - 1;
            _keys = new int[Math.Max(16, Math.Min(expected, 1 << 20)) * d];
        }

        public int Count { get; private set; }

        public ReadOnlySpan<int> Key(int index) => _keys.AsSpan(index * _d, _d);

        public int Find(ReadOnlySpan<int> key)
        {
            for (uint slot = Hash(key) & (uint)_mask; ; slot = (slot + 1) & (uint)_mask)
            {
                int index = _slots[slot];
                if (index < 0) return -1;
                if (Key(index).SequenceEqual(key)) return index;
            }
        }

        public int FindOrAdd(ReadOnlySpan<int> key)
        {
            uint slot = Hash(key) & (uint)_mask;
            for (; ; slot = (slot + 1) & (uint)_mask)
            {
                int index = _slots[slot];
                if (index < 0) break;
                if (Key(index).SequenceEqual(key)) return index;
            }
            if ((Count + 1) * _d > _keys.Length) Array.Resize(ref _keys, _keys.Length * 2);
            key.CopyTo(_keys.AsSpan(Count * _d, _d));
            _slots[slot] = Count;
            return Count++;
        }

        private static uint Hash(ReadOnlySpan<int> key)
        {
            uint h = 0;
            foreach (int k in key) h = (h + (uint)k) * 2531011u;
            return h ^ (h >> 15);
        }
    }
}
