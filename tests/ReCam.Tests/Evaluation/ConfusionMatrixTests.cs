using ReCam.Evaluation;
using Xunit;

namespace ReCam.Tests.Evaluation;

public class ConfusionMatrixTests
{
    // rows = GT, columns = prediction: (0,0)=1 (0,1)=1 (1,1)=2 (2,0)=1 (2,2)=1; the 255 pixel is ignored.
    private static readonly byte[] Truth = [0, 0, 1, 1, 2, 255, 2];
    private static readonly byte[] Prediction = [0, 1, 1, 1, 0, 2, 2];

    [Fact]
    public void ComputesIoUAccuracyAndPredictedForegroundOnBackground()
    {
        var m = new ConfusionMatrix(3);
        m.Add(Truth, Prediction);
        Assert.Equal(6, m.Total);
        Assert.Equal(2, m[1, 1]);
        Assert.Equal(1, m[2, 0]);
        double[] iou = m.IoU();
        Assert.Equal(1.0 / 3, iou[0], 12);
        Assert.Equal(2.0 / 3, iou[1], 12);
        Assert.Equal(1.0 / 2, iou[2], 12);
        Assert.Equal(0.5, m.MeanIoU(), 12);
        Assert.Equal(4.0 / 6, m.PixelAccuracy(), 12);
        Assert.Equal(1.0 / 4, m.PredictedForegroundThatIsBackground(), 12); // 4 predicted fg, 1 of them GT bg
    }

    [Fact]
    public void AbsentClassIsNaNAndLeftOutOfTheMean()
    {
        var m = new ConfusionMatrix(4);
        m.Add(Truth, Prediction);
        double[] iou = m.IoU();
        Assert.True(double.IsNaN(iou[3]));
        Assert.Equal(0.5, m.MeanIoU(), 12);
        Assert.True(double.IsNaN(new ConfusionMatrix(2).MeanIoU()));
        Assert.True(double.IsNaN(new ConfusionMatrix(2).PredictedForegroundThatIsBackground()));
    }

    [Fact]
    public void MergeEqualsAddingEverything()
    {
        var whole = new ConfusionMatrix(3);
        whole.Add(Truth, Prediction);
        var a = new ConfusionMatrix(3);
        var b = new ConfusionMatrix(3);
        a.Add(Truth.AsSpan(0, 3), Prediction.AsSpan(0, 3));
        b.Add(Truth.AsSpan(3), Prediction.AsSpan(3));
        a.Merge(b);
        for (int g = 0; g < 3; g++)
            for (int p = 0; p < 3; p++)
                Assert.Equal(whole[g, p], a[g, p]);
        Assert.Throws<ArgumentException>(() => a.Merge(new ConfusionMatrix(4)));
    }

    [Fact]
    public void UnlabelledPredictionsAreLeftOutAndCounted()
    {
        // The same pixels with two predictions left unlabelled: pixel 1 (truth 0, was predicted 1) and pixel 5 (truth ignored).
        byte[] prediction = [0, 255, 1, 1, 0, 255, 2];
        var m = new ConfusionMatrix(3);
        m.Add(Truth, prediction);
        Assert.Equal(5, m.Total);
        Assert.Equal(1, m.Unlabelled);
        Assert.Equal(1.0 / 6, m.UnlabelledFraction, 12);
        Assert.Equal(0, m[0, 1]);
        Assert.Equal(1.0 / 2, m.IoU()[0], 12); // (0,0)=1 against truth row 1 + column (0,0),(2,0) = 2
        var other = new ConfusionMatrix(3);
        other.Add(Truth, prediction);
        m.Merge(other);
        Assert.Equal(2, m.Unlabelled);
        Assert.Equal(0, new ConfusionMatrix(3).UnlabelledFraction);
    }

    [Fact]
    public void RejectsOutOfRangeLabelsAndLengthMismatch()
    {
        var m = new ConfusionMatrix(3);
        var gt = Assert.Throws<ArgumentException>(() => m.Add([0, 7], [0, 0]));
        Assert.Contains("7", gt.Message);
        var pred = Assert.Throws<ArgumentException>(() => m.Add([0, 1], [0, 9]));
        Assert.Contains("9", pred.Message);
        Assert.Throws<ArgumentException>(() => m.Add([0, 1], [0]));
        Assert.Equal(0, m.Total);
    }
}
