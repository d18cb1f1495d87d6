using Microsoft.Extensions.Logging;
using ReCam.Pipeline;
using ReCam.Scenes;
using ReCam.Training;

namespace ReCam.Tests.Pipeline;

/// <summary>
/// A tiny generated data set (24 training scenes of 64 px) with a CAM trained on it once for all tests of
/// the collection: 2 epochs, batch 8, crop 64.
/// </summary>
public sealed class TinyScenes : IDisposable
{
    public TinyScenes()
    {
        Root = Path.Combine(Path.GetTempPath(), "recam-tests-" + Guid.NewGuid().ToString("N"));
        Voc = Path.Combine(Root, "voc");
        Work = Path.Combine(Root, "work");
        Set = SceneGenerator.Generate(Voc, new SceneOptions { Count = 28, ValFraction = 4 / 28.0, ImageSize = 64, Seed = 3 });
        Settings = new PipelineSettings { VocRoot = Voc, WorkDir = Work, Seed = 1 };
        TrainCamStep.Run(Settings, Training, Log);
    }

    public static CamTrainingOptions Training { get; } = new() { Epochs = 2, BatchSize = 8, Crop = 64, LearningRate = 0.01, ClassifierLearningRate = 0.1 };

    public string Root { get; }

    public string Voc { get; }

    public string Work { get; }

    public SceneSet Set { get; }

    public PipelineSettings Settings { get; }

    public ListLogger Log { get; } = new();

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A logger that keeps every message, for assertions.</summary>
public sealed class ListLogger : ILogger
{
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get { lock (_entries) return _entries.ToList(); }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries) _entries.Add((logLevel, formatter(state, exception)));
    }
}

[Xunit.CollectionDefinition(Name)]
public sealed class TinyScenesCollection : Xunit.ICollectionFixture<TinyScenes>
{
    public const string Name = "tiny scenes";
}
