using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.MLNet;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>Schema and option validation of the re-activation trainer: every wrong input fails before any training.</summary>
public sealed class ReCamSchemaTests
{
    private sealed class CamLike
    {
        public string ImagePath { get; set; } = "/nonexistent.jpg";

        [VectorType(3)]
        public float[] Label { get; set; } = [1, 0, 0];

        public float[] Cam { get; set; } = [];
    }

    private sealed class NoLabel
    {
        public string ImagePath { get; set; } = "/nonexistent.jpg";

        public float[] Cam { get; set; } = [];
    }

    private sealed class TextLabel
    {
        public string ImagePath { get; set; } = "/nonexistent.jpg";

        [VectorType(3)]
        public string[] Label { get; set; } = ["a", "b", "c"];

        public float[] Cam { get; set; } = [];
    }

    private static ArgumentOutOfRangeException SchemaFails<T>(T row, bool loadImages = true) where T : class
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { row });
        var reCam = ml.Transforms.ReactivateClassActivationMaps();
        return loadImages
            ? Assert.ThrowsAny<ArgumentOutOfRangeException>(() => ml.Transforms.LoadImages("Image", "", "ImagePath").Append(reCam).Fit(data))
            : Assert.ThrowsAny<ArgumentOutOfRangeException>(() => reCam.Fit(data));
    }

    [Fact]
    public void MissingImageColumn()
    {
        var e = SchemaFails(new CamLike(), loadImages: false);
        Assert.Contains("image column 'Image'", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void MissingOrWrongLabelColumn()
    {
        var missing = SchemaFails(new NoLabel());
        Assert.Contains("label column 'Label'", missing.Message, StringComparison.OrdinalIgnoreCase);
        var text = SchemaFails(new TextLabel());
        Assert.Contains("'Label'", text.Message);
        Assert.Contains("got Vector<String>", text.Message);
    }

    [Fact]
    public void InvalidOptionsAreRejectedWhenTheEstimatorIsCreated()
    {
        var ml = new MLContext(seed: 1);
        ArgumentException Fails(ReactivatedClassActivationMapEstimator.Options o) =>
            Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.ReactivateClassActivationMaps(o));
        Assert.Contains("Lambda", Fails(new() { Lambda = -1 }).Message);
        Assert.Contains("Epochs", Fails(new() { Epochs = 0, HeadWarmupEpochs = 0 }).Message);
        Assert.Contains("HeadLearningRate", Fails(new() { HeadLearningRate = -1 }).Message.Replace("learning rates", "HeadLearningRate"));
        Assert.Contains("file not found", Fails(new() { CamModelPath = "/nonexistent/cam.ckpt" }).Message);
        string pth = Path.Combine(Path.GetTempPath(), $"recam-{Guid.NewGuid():N}.pth");
        File.WriteAllBytes(pth, [0]);
        try
        {
            var e = Fails(new() { CamModelPath = pth });
            Assert.Contains("Backbone", e.Message);
            Assert.Contains("resnet50", e.Message);
        }
        finally
        {
            File.Delete(pth);
        }
        Assert.Contains("vgg16", Fails(new() { Backbone = "vgg16" }).Message);
    }
}
