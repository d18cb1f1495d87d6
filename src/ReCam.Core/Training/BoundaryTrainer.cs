using ReCam.Networks;
using ReCam.Refinement;
using static TorchSharp.torch;

namespace ReCam.Training;

/// <summary>
/// train-irn: fits the boundary network's edge layers with IRNet's affinity losses. For every pair of stride-4 cells within
/// the radius (sources away from the grid's left, right and bottom borders, as the official PathIndex), the affinity is
/// 1 − the largest boundary probability on the path between them; pairs with the same confident label should have
/// affinity 1 (background and foreground pairs weighed equally), pairs with different labels affinity 0; unsure cells
/// (255) take part in no pair. Loss = ((L_bg + L_fg)/2 + L_neg)/2.
/// </summary>
public static class BoundaryTrainer
{
    /// <summary>Trains the edge layers of <paramref name="network"/> in place.</summary>
    /// <exception cref="InvalidOptionException">An option is invalid.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    public static void Train(BoundaryNetwork network, IReadOnlyList<LabelledImage> samples, BoundaryTrainingOptions options, Device device,
        TrainingHooks? hooks = null)
    {
        options.Validate();
        var source = new BoundarySamples(samples, options.Crop, options.ScaleMin, options.ScaleMax, network.Spec.Normalization);
        var loop = new TrainingLoop(source, options.BatchSize, options.EpochsFor(samples.Count), options.Seed, device);
        using var step = new BoundaryTrainingStep(network, options, device);
        loop.Run((images, labels, t) => step.Run(images, labels, t, loop.TotalSteps), hooks ?? new TrainingHooks(), step.Optimizer);
        network.eval();
    }
}

/// <summary>One train-irn step: affinities along the paths, the three pair losses, backward, the SGD update.</summary>
internal sealed class BoundaryTrainingStep : IDisposable
{
    private readonly BoundaryNetwork _network;
    private readonly AffinityPairs _pairs;

    public BoundaryTrainingStep(BoundaryNetwork network, BoundaryTrainingOptions options, Device device)
    {
        _network = network;
        network.train();
        _pairs = new AffinityPairs(new PathIndex(options.Radius), options.Crop / 4, device);
        Optimizer = new PolyOptimizer([(network.EdgeParameters(), options.LearningRate)], options);
    }

    public PolyOptimizer Optimizer { get; }

    public StepMetrics Run(Tensor images, Tensor labels, long step, long totalSteps)
    {
        double rate = Optimizer.Prepare(step, totalSteps);
        var loss = AffinityLoss(_network.call(images), labels, _pairs);
        float value = loss.item<float>();
        if (!float.IsFinite(value))
            throw new TrainingDivergedException($"train-irn diverged at step {step + 1} of {totalSteps} (loss {value}); lower the learning rate (--lr).");
        loss.backward();
        Optimizer.Step();
        return new StepMetrics(value, rate);
    }

    /// <summary>The affinity loss of boundary logits (B, 1, g, g) against reduced IR labels (B, g, g).</summary>
    internal static Tensor AffinityLoss(Tensor logits, Tensor labels, AffinityPairs pairs)
    {
        using var scope = NewDisposeScope();
        const double eps = 1e-5;
        long batch = logits.shape[0];
        var boundary = logits.sigmoid().reshape(batch, -1);
        var affinity = pairs.Affinity(boundary);                            // (B, D, S)
        var flat = labels.reshape(batch, -1);
        var src = flat.index_select(1, pairs.Sources).unsqueeze(1);          // (B, 1, S)
        var dst = flat.index_select(1, pairs.Destinations.flatten()).view(batch, pairs.Directions, -1); // (B, D, S)
        var valid = src.ne(IrLabel.Unsure).logical_and(dst.ne(IrLabel.Unsure));
        var same = valid.logical_and(src.eq(dst));
        var bgPositive = same.logical_and(src.eq(0)).to_type(ScalarType.Float32);
        var fgPositive = same.logical_and(src.gt(0)).to_type(ScalarType.Float32);
        var negative = valid.logical_and(src.ne(dst)).to_type(ScalarType.Float32);
        var posTerm = -(affinity + eps).log();
        var negTerm = -(1 + eps - affinity).log();
        var bg = (bgPositive * posTerm).sum() / (bgPositive.sum() + eps);
        var fg = (fgPositive * posTerm).sum() / (fgPositive.sum() + eps);
        var neg = (negative * negTerm).sum() / (negative.sum() + eps);
        return ((bg / 2 + fg / 2 + neg) / 2).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        _pairs.Dispose();
    }
}

/// <summary>
/// The pairs of a g×g training grid as index tensors: sources (rows [0, g − r + 1), columns [r − 1, g − r + 1)),
/// each direction's destinations, and each direction's path cells, grouped by path length so one gather and one max
/// serve a whole group.
/// </summary>
internal sealed class AffinityPairs : IDisposable
{
    private readonly List<Tensor> _pathGroups = [];

    public AffinityPairs(PathIndex index, int grid, Device device)
    {
        int floor = index.Radius - 1;
        var sources = new List<long>();
        for (int y = 0; y < grid - floor; y++)
            for (int x = floor; x < grid - floor; x++) sources.Add(y * grid + x);
        if (sources.Count == 0) throw new ArgumentException($"A {grid}-cell grid has no source cells for radius {index.Radius}.");
        int s = sources.Count;
        var order = Enumerable.Range(0, index.Directions.Count).OrderBy(d => index.Paths[d].Length).ToList(); // stable: enumeration order within a length
        var destinations = new long[order.Count * s];
        for (int i = 0; i < order.Count; i++)
        {
            var (dy, dx) = index.Directions[order[i]];
            for (int j = 0; j < s; j++) destinations[i * s + j] = sources[j] + dy * grid + dx;
        }
        foreach (var group in order.GroupBy(d => index.Paths[d].Length))
        {
            var dirs = group.ToList();
            int length = group.Key;
            var cells = new long[dirs.Count * length * s];
            for (int i = 0; i < dirs.Count; i++)
                for (int p = 0; p < length; p++)
                {
                    var (py, px) = index.Paths[dirs[i]][p];
                    for (int j = 0; j < s; j++) cells[(i * length + p) * s + j] = sources[j] + py * grid + px;
                }
            _pathGroups.Add(tensor(cells, [dirs.Count, length, s]).to(device));
        }
        Sources = tensor(sources.ToArray()).to(device);
        Destinations = tensor(destinations, [order.Count, s]).to(device);
        Directions = order.Count;
    }

    /// <summary>Flat source cells (S).</summary>
    public Tensor Sources { get; }

    /// <summary>Flat destination cells (D, S), directions grouped by path length.</summary>
    public Tensor Destinations { get; }

    /// <summary>Number of directions D.</summary>
    public int Directions { get; }

    /// <summary>1 − the largest boundary value along each pair's path: (B, D, S) from flat boundaries (B, g·g).</summary>
    public Tensor Affinity(Tensor boundary)
    {
        using var scope = NewDisposeScope();
        long batch = boundary.shape[0];
        var parts = _pathGroups.Select(g =>
        {
            var gathered = boundary.index_select(1, g.flatten()).view(batch, g.shape[0], g.shape[1], g.shape[2]);
            return 1 - gathered.amax([2L]);
        }).ToArray();
        return cat(parts, 1).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in _pathGroups) t.Dispose();
        Sources.Dispose();
        Destinations.Dispose();
    }
}
