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
        // COCO differs only in lambda (0.1), batch (6) and the extraction weight (W1 of the re-activated network).
        Assert.Equal(voc with { Lambda = 0.1, BatchSize = 6, Combination = WeightCombination.W1 }, ReCamTrainingOptions.OfficialCoco);
        Assert.NotEqual(voc, ReCamTrainingOptions.OfficialCoco);
    }
}
