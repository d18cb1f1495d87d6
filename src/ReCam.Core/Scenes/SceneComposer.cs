namespace ReCam.Scenes;

/// <summary>One item of a composed scene: its class and the bounding box of its labelled pixels (0-based, inclusive).</summary>
internal sealed record SceneObject(int ClassIndex, int XMin, int YMin, int XMax, int YMax);

/// <summary>A composed scene: interleaved RGB pixels, the label map (0, c+1, 255) and the items still visible.</summary>
internal sealed record ComposedScene(byte[] Rgb, byte[] Mask, IReadOnlyList<SceneObject> Objects);

/// <summary>
/// Composes one Fashion-MNIST scene: a gradient + texture + noise background, then 1..N tinted, upscaled items
/// placed so that every earlier item keeps most of its silhouette visible. All randomness comes from the
/// <see cref="Random"/> passed in, in a fixed order, so a seed always gives the same scene.
/// </summary>
internal static class SceneComposer
{
    private const int MaxHoleArea = 30;          // enclosed gaps up to this many 28×28 pixels are filled
    private static readonly int[][] ConfusionGroups = [[0, 2, 4, 6], [5, 7, 9]];

    public static ComposedScene Compose(FashionMnist source, int[][] itemsByClass, SceneOptions o, Random rng)
    {
        int size = o.ImageSize;
        var rgb = new byte[size * size * 3];
        var owner = new int[size * size];
        Array.Fill(owner, -1);
        var background = DrawBackground(rgb, size, rng);

        int target = rng.Next(o.MinObjects, o.MaxObjects + 1);
        var classes = new List<int>();
        var area = new List<int>();
        var visible = new List<int>();
        for (int slot = 0; slot < target || (classes.Count == 0 && slot < target + 20); slot++) // never an empty scene
        {
            int cls = ChooseClass(classes, o.ConfusableProbability, rng);
            int item = itemsByClass[cls][rng.Next(itemsByClass[cls].Length)];
            bool[] shape28 = Silhouette(source.Image(item), o.ItemThreshold);
            int side = (int)Math.Round(size * (o.MinItemFraction + rng.NextDouble() * (o.MaxItemFraction - o.MinItemFraction)));
            var tint = ChooseTint(background, rng);
            for (int attempt = 0; attempt < 3; attempt++, side = (int)(side * 0.85))
            {
                side = Math.Clamp(side, 12, size);
                var (mask, shade) = Upscale(source.Image(item), shape28, side);
                int silhouette = mask.Count(b => b);
                if (silhouette == 0) break;
                if (!TryPlace(mask, side, size, owner, area, visible, o.MinVisibleFraction, rng, out int px, out int py)) continue;
                int k = classes.Count;
                var lost = new int[k];
                for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                {
                    if (!mask[y * side + x]) continue;
                    int p = (py + y) * size + px + x;
                    if (owner[p] >= 0) lost[owner[p]]++;
                    owner[p] = k;
                    double s = 0.3 + 0.7 * shade[y * side + x];
                    int bits = rng.Next();
                    for (int c = 0; c < 3; c++)
                        rgb[3 * p + c] = Clamp(tint[c] * s + Noise(bits, c, 8));
                }
                for (int j = 0; j < k; j++) visible[j] -= lost[j];
                classes.Add(cls);
                area.Add(silhouette);
                visible.Add(silhouette);
                break;
            }
        }
        return new ComposedScene(rgb, LabelMask(owner, classes, size, o.IgnoreBand, out var objects), objects);
    }

    private static int ChooseClass(List<int> placed, double confusable, Random rng)
    {
        if (placed.Count > 0 && rng.NextDouble() < confusable)
        {
            int anchor = placed[rng.Next(placed.Count)];
            int[]? group = ConfusionGroups.FirstOrDefault(g => g.Contains(anchor));
            if (group is not null)
            {
                int[] others = group.Where(c => c != anchor).ToArray();
                return others[rng.Next(others.Length)];
            }
        }
        return rng.Next(FashionMnist.ClassNames.Count);
    }

    private static double[] DrawBackground(byte[] rgb, int size, Random rng)
    {
        double[] c1 = [rng.Next(256), rng.Next(256), rng.Next(256)];
        double[] c2 = [rng.Next(256), rng.Next(256), rng.Next(256)];
        double angle = rng.NextDouble() * 2 * Math.PI, cos = Math.Cos(angle), sin = Math.Sin(angle);
        var waves = new (double Amp, double Kx, double Ky, double Phase)[2];
        for (int i = 0; i < waves.Length; i++)
            waves[i] = (6 + 12 * rng.NextDouble(), (rng.NextDouble() - 0.5) * 0.5, (rng.NextDouble() - 0.5) * 0.5, rng.NextDouble() * 2 * Math.PI);
        // sin(kx·x + ky·y + φ) = sin(kx·x)·cos(ky·y + φ) + cos(kx·x)·sin(ky·y + φ): tabulated per column and row.
        var sx = new double[waves.Length, size];
        var cx = new double[waves.Length, size];
        var sy = new double[waves.Length, size];
        var cy = new double[waves.Length, size];
        for (int i = 0; i < waves.Length; i++)
        for (int j = 0; j < size; j++)
        {
            (sx[i, j], cx[i, j]) = Math.SinCos(waves[i].Kx * j);
            (sy[i, j], cy[i, j]) = Math.SinCos(waves[i].Ky * j + waves[i].Phase);
        }
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            double t = Math.Clamp(((x - size / 2.0) * cos + (y - size / 2.0) * sin) / size + 0.5, 0, 1);
            double texture = 0;
            for (int i = 0; i < waves.Length; i++)
                texture += waves[i].Amp * (sx[i, x] * cy[i, y] + cx[i, x] * sy[i, y]);
            int p = 3 * (y * size + x), bits = rng.Next();
            for (int c = 0; c < 3; c++)
                rgb[p + c] = Clamp(c1[c] + (c2[c] - c1[c]) * t + texture + Noise(bits, c, 12));
        }
        return [(c1[0] + c2[0]) / 2, (c1[1] + c2[1]) / 2, (c1[2] + c2[2]) / 2];
    }

    /// <summary>A saturated random colour, re-drawn (a few times) while it is close to the mean background colour.</summary>
    private static double[] ChooseTint(double[] background, Random rng)
    {
        double[] tint = [];
        for (int attempt = 0; attempt < 8; attempt++)
        {
            double h = rng.NextDouble() * 6, s = 0.45 + 0.55 * rng.NextDouble(), v = 0.55 + 0.45 * rng.NextDouble();
            double f = h - Math.Floor(h), p = v * (1 - s), q = v * (1 - s * f), r = v * (1 - s * (1 - f));
            (double R, double G, double B) = ((int)h) switch
            {
                0 => (v, r, p), 1 => (q, v, p), 2 => (p, v, r), 3 => (p, q, v), 4 => (r, p, v), _ => (v, p, q),
            };
            tint = [255 * R, 255 * G, 255 * B];
            double d2 = 0;
            for (int c = 0; c < 3; c++) d2 += (tint[c] - background[c]) * (tint[c] - background[c]);
            if (d2 >= 90 * 90) break;
        }
        return tint;
    }

    /// <summary>The item silhouette at 28×28: grey &gt; threshold, closed with a 3×3 square, small holes filled.</summary>
    internal static bool[] Silhouette(ReadOnlySpan<byte> image, int threshold)
    {
        const int n = FashionMnist.Side, w = n + 2; // one pixel of padding all round
        var m = new bool[w * w];
        for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) m[(y + 1) * w + x + 1] = image[y * n + x] > threshold;
        bool[] closed = Morph(Morph(m, w, dilate: true), w, dilate: false);
        // Background reachable from the border stays background; enclosed gaps up to MaxHoleArea are filled.
        var region = new int[w * w];     // 0 = unvisited, 1 = outside, 2 = hole kept
        var queue = new Queue<int>();
        void Flood(int seed, int mark, List<int>? members)
        {
            region[seed] = mark; queue.Enqueue(seed);
            while (queue.Count > 0)
            {
                int p = queue.Dequeue(); members?.Add(p);
                int py = p / w, px = p % w;
                foreach (int q in new[] { p - 1, p + 1, p - w, p + w })
                {
                    if (q < 0 || q >= w * w || (q / w != py && q % w != px) || closed[q] || region[q] != 0) continue;
                    region[q] = mark; queue.Enqueue(q);
                }
            }
        }
        Flood(0, 1, null);
        for (int p = 0; p < w * w; p++)
        {
            if (closed[p] || region[p] != 0) continue;
            var members = new List<int>();
            Flood(p, 2, members);
            if (members.Count <= MaxHoleArea) foreach (int q in members) closed[q] = true;
        }
        var result = new bool[n * n];
        for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) result[y * n + x] = closed[(y + 1) * w + x + 1];
        return result;
    }

    private static bool[] Morph(bool[] m, int w, bool dilate)
    {
        var result = new bool[m.Length];
        for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
        {
            bool any = false, all = true;
            for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
            {
                int yy = y + dy, xx = x + dx;
                bool v = yy >= 0 && yy < w && xx >= 0 && xx < w && m[yy * w + xx];
                any |= v; all &= v;
            }
            result[y * w + x] = dilate ? any : all;
        }
        return result;
    }

    /// <summary>Bilinear upscaling of the grey item (→ shade in [0,1]) and of its silhouette (→ mask, cut at 0.5).</summary>
    private static (bool[] Mask, double[] Shade) Upscale(ReadOnlySpan<byte> image, bool[] shape, int side)
    {
        const int n = FashionMnist.Side;
        var mask = new bool[side * side];
        var shade = new double[side * side];
        double scale = (double)n / side;
        for (int y = 0; y < side; y++)
        {
            double sy = Math.Clamp((y + 0.5) * scale - 0.5, 0, n - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, n - 1);
            double fy = sy - y0;
            for (int x = 0; x < side; x++)
            {
                double sx = Math.Clamp((x + 0.5) * scale - 0.5, 0, n - 1);
                int x0 = (int)sx, x1 = Math.Min(x0 + 1, n - 1);
                double fx = sx - x0;
                double w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
                double grey = w00 * image[y0 * n + x0] + w01 * image[y0 * n + x1] + w10 * image[y1 * n + x0] + w11 * image[y1 * n + x1];
                double inside = w00 * B(shape[y0 * n + x0]) + w01 * B(shape[y0 * n + x1]) + w10 * B(shape[y1 * n + x0]) + w11 * B(shape[y1 * n + x1]);
                mask[y * side + x] = inside > 0.5;
                shade[y * side + x] = grey / 255.0;
            }
        }
        return (mask, shade);
    }

    private static double B(bool b) => b ? 1 : 0;

    private static bool TryPlace(bool[] mask, int side, int size, int[] owner, List<int> area, List<int> visible,
        double minVisible, Random rng, out int px, out int py)
    {
        var lost = new int[area.Count];
        for (int attempt = 0; attempt < 25; attempt++)
        {
            px = rng.Next(size - side + 1);
            py = rng.Next(size - side + 1);
            Array.Clear(lost);
            for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
                if (mask[y * side + x] && owner[(py + y) * size + px + x] is int j and >= 0) lost[j]++;
            bool ok = true;
            for (int j = 0; j < area.Count && ok; j++) ok = visible[j] - lost[j] >= minVisible * area[j];
            if (ok) return true;
        }
        px = py = 0;
        return false;
    }

    /// <summary>Label map (0 background, class+1, 255 in a band just outside each item's visible boundary) and the
    /// items that keep at least one labelled pixel, with their boxes.</summary>
    private static byte[] LabelMask(int[] owner, List<int> classes, int size, int band, out IReadOnlyList<SceneObject> objects)
    {
        var mask = new byte[size * size];
        var box = classes.Select(_ => (X0: int.MaxValue, Y0: int.MaxValue, X1: -1, Y1: -1)).ToArray();
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            int me = owner[y * size + x];
            bool ignore = false;
            for (int dy = -band; dy <= band && !ignore; dy++)
            for (int dx = -band; dx <= band && !ignore; dx++)
            {
                int yy = y + dy, xx = x + dx;
                ignore = yy >= 0 && yy < size && xx >= 0 && xx < size && owner[yy * size + xx] > me;
            }
            if (ignore) { mask[y * size + x] = 255; continue; }
            if (me < 0) continue;
            mask[y * size + x] = (byte)(classes[me] + 1);
            var b = box[me];
            box[me] = (Math.Min(b.X0, x), Math.Min(b.Y0, y), Math.Max(b.X1, x), Math.Max(b.Y1, y));
        }
        objects = classes.Select((c, k) => (c, b: box[k])).Where(t => t.b.X1 >= 0)
            .Select(t => new SceneObject(t.c, t.b.X0, t.b.Y0, t.b.X1, t.b.Y1)).ToList();
        return mask;
    }

    /// <summary>Channel <paramref name="c"/>'s share of one random draw: an integer in [-amplitude, amplitude].</summary>
    private static int Noise(int bits, int c, int amplitude) => ((bits >> (10 * c)) & 1023) * (2 * amplitude + 1) / 1024 - amplitude;

    private static byte Clamp(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);
}
