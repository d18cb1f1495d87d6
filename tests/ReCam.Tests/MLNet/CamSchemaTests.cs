using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.MLNet;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>Schema validation of the CAM estimator: every wrong input fails before any training, naming column and types.</summary>
public sealed class CamSchemaTests
{
    private static readonly string[] Classes = ["a", "b", "c"];

    private sealed class PathOnly
    {
        public string ImagePath { get; set; } = "/nonexistent.jpg";
    }

    private sealed class ImageIsText
    {
        public string Image { get; set; } = "x";

        [VectorType(3)]
        public float[] Label { get; set; } = [1, 0, 0];
    }

    private sealed class ScalarLabel
    {
        public string ImagePath { get; set; } = "/nonexistent.jpg";

        public float Label { get; set; }
    }

    private sealed class SizedLabel
    {
        public string ImagePath { get; set; } = "/nonexistent.jpg";

        [VectorType(7)]
        public float[] Label { get; set; } = new float[7];
    }

    private sealed class UnsizedLabel
    {
        public string ImagePath { get; set; } = "/nonexistent.jpg";

        public float[] Label { get; set; } = new float[3];
    }

    private sealed class TextLabel
    {
        public string ImagePath { get; set; } = "/nonexistent.jpg";

        [VectorType(3)]
        public string[] Label { get; set; } = ["a", "b", "c"];
    }

    private static ArgumentOutOfRangeException FitFails<T>(T row, bool loadImages = true, ClassActivationMapEstimator.Options? options = null)
        where T : class
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { row });
        var cam = ml.Transforms.TrainClassActivationMaps(options ?? new ClassActivationMapEstimator.Options { ClassNames = Classes });
        var e = loadImages
            ? Assert.ThrowsAny<ArgumentOutOfRangeException>(() => ml.Transforms.LoadImages("Image", "", "ImagePath").Append(cam).Fit(data))
            : Assert.ThrowsAny<ArgumentOutOfRangeException>(() => cam.Fit(data));
        return e;
    }

    [Fact]
    public void MissingImageColumn()
    {
        var e = FitFails(new PathOnly(), loadImages: false);
        Assert.Contains("image column 'Image'", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ImageColumnOfWrongType()
    {
        var e = FitFails(new ImageIsText(), loadImages: false);
        Assert.Contains("'Image'", e.Message);
        Assert.Contains("expected Image", e.Message);
        Assert.Contains("String", e.Message);
    }

    [Fact]
    public void MissingLabelColumn()
    {
        var e = FitFails(new PathOnly());
        Assert.Contains("label column 'Label'", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void LabelOfWrongType()
    {
        var scalar = FitFails(new ScalarLabel());
        Assert.Contains("'Label'", scalar.Message);
        Assert.Contains("Vector<Single, 3>", scalar.Message);
        Assert.Contains("got Single", scalar.Message);

        var text = FitFails(new TextLabel());
        Assert.Contains("expected Vector<Single, 3>", text.Message);
        Assert.Contains("got Vector<String>", text.Message);
    }

    [Fact]
    public void LabelOfWrongVectorSize()
    {
        var e = FitFails(new SizedLabel());
        Assert.Contains("'Label'", e.Message);
        Assert.Contains("Vector<Single, 3>", e.Message);
        Assert.Contains("got Vector<Single, 7>", e.Message);
    }

    [Fact]
    public void LabelOfUnknownVectorSize()
    {
        var e = FitFails(new UnsizedLabel());
        Assert.Contains("'Label'", e.Message);
        Assert.Contains("Vector<Single>", e.Message);
    }

    [Fact]
    public void InvalidOptionsAreRejectedWhenTheEstimatorIsCreated()
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.TrainClassActivationMaps(new ClassActivationMapEstimator.Options { Epochs = 0 }));
        Assert.Contains("Epochs", e.Message);
        var b = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.TrainClassActivationMaps(backbone: "vgg16"));
        Assert.Contains("vgg16", b.Message);
        var t = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.TrainClassActivationMaps(new ClassActivationMapEstimator.Options { NumberOfThreads = 0 }));
        Assert.Contains("NumberOfThreads", t.Message);
        var c = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.TrainClassActivationMaps(new ClassActivationMapEstimator.Options { Crop = 4 }));
        Assert.Contains("Crop", c.Message);
        var s = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.TrainClassActivationMaps(new ClassActivationMapEstimator.Options { Scales = [] }));
        Assert.Contains("Scales", s.Message);
    }
}
