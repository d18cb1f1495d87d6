using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Data;
using ReCam.Training;

namespace ReCam.Pipeline;

/// <summary>
/// The images of one split with their labels, as the steps consume them. Images whose label set is
/// empty are reported once with a warning and left out of training (they carry no class to localise).
/// </summary>
internal sealed class DatasetView
{
    private DatasetView(ImageDataset dataset, IReadOnlyList<string> ids, IReadOnlyDictionary<string, float[]> labels)
    {
        Dataset = dataset;
        Ids = ids;
        Labels = labels;
    }

    /// <summary>The dataset.</summary>
    public ImageDataset Dataset { get; }

    /// <summary>Ids of the split, in list order.</summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>Multi-hot labels by id.</summary>
    public IReadOnlyDictionary<string, float[]> Labels { get; }

    /// <summary>Class names.</summary>
    public IReadOnlyList<string> ClassNames => Dataset.ClassNames;

    /// <summary>Opens the split named in <paramref name="settings"/>, checking images and labels up front.</summary>
    public static DatasetView Open(PipelineSettings settings, ILogger logger, string? split = null)
    {
        settings.Validate();
        var dataset = settings.OpenDataset(split);
        var ids = dataset.ReadSplit(split ?? settings.Split);
        if (ids.Count == 0) throw new InvalidDataException($"Split '{split ?? settings.Split}' of '{settings.DatasetRoot}' lists no images.");
        dataset.CheckImagesExist(ids);
        var labels = dataset.LoadLabels(ids, settings.LabelsFile);
        int unlabelled = ids.Count(id => labels[id].All(v => v <= 0));
        if (unlabelled > 0)
            logger.LogWarning("{Count} image(s) of split '{Split}' have no image-level label (e.g. {Example}); they are skipped for training and get empty maps.",
                unlabelled, split ?? settings.Split, ids.First(id => labels[id].All(v => v <= 0)));
        return new DatasetView(dataset, ids, labels);
    }

    /// <summary>The images with at least one label, as training samples (unlabelled ones were reported by <see cref="Open"/>).</summary>
    public IReadOnlyList<TrainingSample> TrainingSamples() =>
        Ids.Where(id => Labels[id].Any(v => v > 0)).Select(id => new TrainingSample(id, Dataset.ImagePath(id), Labels[id])).ToList();

    /// <summary>0-based indices of the classes present in an image, ascending.</summary>
    public long[] Keys(string id) =>
        Labels[id].Select((v, i) => (v, i)).Where(p => p.v > 0).Select(p => (long)p.i).ToArray();

    /// <summary>The ids of this process's shard: every Count-th id starting at Index (the official interleaving).</summary>
    public IReadOnlyList<string> Shard((int Index, int Count) shard) =>
        Ids.Where((_, i) => i % shard.Count == shard.Index).ToList();

    /// <summary>The maps requests of this process's shard.</summary>
    public IEnumerable<MapsRequest> MapsRequests((int Index, int Count) shard) =>
        Shard(shard).Select(id => new MapsRequest(id, Dataset.ImagePath(id), Keys(id)));

    /// <summary>Throws (disposing <paramref name="owned"/>) unless a model trained on <paramref name="modelClasses"/> fits this data set.</summary>
    public void CheckClasses(string modelPath, IReadOnlyList<string> modelClasses, IDisposable owned)
    {
        if (modelClasses.SequenceEqual(ClassNames)) return;
        owned.Dispose();
        throw new InvalidDataException(
            $"Checkpoint '{modelPath}' was trained on classes [{string.Join(", ", modelClasses)}] but the data set has [{string.Join(", ", ClassNames)}].");
    }
}
