using ReCam.Cam;
using ReCam.Networks;
using ReCam.Training;
using Xunit;

namespace ReCam.Tests.Training;

public class ReCamPresetTests
{
    [Fact]
    public void TheOfficialPresetsHoldTheOfficialVocAndCocoSettings()
    {
        var voc = ReCamTrainingOptions.Official;
        Assert.Equal((4, 1.0, 5e-5, 5e-5, 5e-4, 0, WeightCombination.Product, HeadInitialization.Random, false, 16),
            (voc.Epochs, voc.Lambda, voc.LearningRate, voc.ClassifierLearningRate, voc.HeadLearningRate, voc.HeadWarmupEpochs, voc.Combination, voc.HeadInit,
             voc.BackgroundClass, voc.BatchSize));
        // The official maps: W2 as trained, each class's map its own.
        Assert.Equal((1.0, PixelClassSource.Combined), (voc.W2Gain, voc.PixelClass));
        var defaults = new ReCamTrainingOptions();
        Assert.Equal((ReCamTrainingOptions.DefaultW2Gain, PixelClassSource.W1), (defaults.W2Gain, defaults.PixelClass));
        // COCO differs only in lambda (0.1), batch (6) and the extraction weight (W1 of the re-activated network).
        Assert.Equal(voc with { Lambda = 0.1, BatchSize = 6, Combination = WeightCombination.W1 }, ReCamTrainingOptions.OfficialCoco);
        Assert.NotEqual(voc, ReCamTrainingOptions.OfficialCoco);
    }
}
