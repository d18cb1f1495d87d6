using ReCam.Networks;
using ReCam.Tests.Networks;
using ReCam.Training;
using Xunit;

namespace ReCam.Tests.Training;

public class PolyOptimizerTests
{
    [Fact]
    public void PolyScheduleMatchesTheOfficialFormula()
    {
        Assert.Equal(1.0, PolyOptimizer.Factor(0, 100, 0.9));
        Assert.Equal(Math.Pow(0.5, 0.9), PolyOptimizer.Factor(50, 100, 0.9), 12);
        Assert.Equal(Math.Pow(0.01, 0.9), PolyOptimizer.Factor(99, 100, 0.9), 12);
        Assert.Equal(0.0, PolyOptimizer.Factor(100, 100, 0.9));
    }

    [Fact]
    public void WarmUpRampsTheFirstStepsLinearlyThenFollowsThePolySchedule()
    {
        Assert.Equal(0.25, PolyOptimizer.Factor(0, 100, 0.9, warmupSteps: 4), 12);
        Assert.Equal(Math.Pow(0.98, 0.9) * 0.75, PolyOptimizer.Factor(2, 100, 0.9, warmupSteps: 4), 12);
        Assert.Equal(Math.Pow(0.96, 0.9), PolyOptimizer.Factor(4, 100, 0.9, warmupSteps: 4), 12);
        Assert.Equal(PolyOptimizer.Factor(50, 100, 0.9), PolyOptimizer.Factor(50, 100, 0.9, warmupSteps: 4));
    }

    [Fact]
    public void TheCamStepAppliesItsWarmUpToBothGroups()
    {
        using var network = new CamNetwork(TestBackbones.Tiny, 3);
        var options = new CamTrainingOptions { LearningRate = 0.1, ClassifierLearningRate = 1.0, WarmupSteps = 10 };
        using var step = new CamTrainingStep(network, options);
        Assert.Equal(0.01, step.Optimizer.Prepare(0, 1000, report: 0), 12);
        Assert.Equal(0.1, step.Optimizer.Prepare(0, 1000, report: 1), 12);
        Assert.Equal(1.0 * PolyOptimizer.Factor(10, 1000, 0.9), step.Optimizer.Prepare(10, 1000, report: 1), 12);
        Assert.Equal("10", options.Describe(network.Spec)["warmupSteps"]);
        Assert.False(new CamTrainingOptions().Describe(network.Spec).ContainsKey("warmupSteps"));
        Assert.Throws<InvalidOptionException>(() => new CamTrainingOptions { WarmupSteps = -1 }.Validate());
    }

    [Fact]
    public void TheWarmUpDefaultsToTheBackbonesOwnAndZeroTurnsItOff()
    {
        var bundled = BackboneCatalog.Get(BackboneCatalog.DefaultName);
        var defaults = new CamTrainingOptions();
        Assert.Equal(0.05, defaults.LearningRateFor(bundled), 12);
        Assert.Equal(0.5, defaults.ClassifierLearningRateFor(bundled), 12);
        Assert.Equal(18, defaults.WarmupStepsFor(bundled));
        Assert.Equal(0, new CamTrainingOptions { WarmupSteps = 0 }.WarmupStepsFor(bundled));
        Assert.Equal(0, defaults.WarmupStepsFor(BackboneCatalog.Get("resnet50")));
        Assert.Equal("18", defaults.Describe(bundled)["warmupSteps"]);
        Assert.False(new CamTrainingOptions { WarmupSteps = 0 }.Describe(bundled).ContainsKey("warmupSteps"));

        // The step takes the backbone's warm-up when the options leave it unset.
        using var network = new CamNetwork(TestBackbones.Tiny with { CamWarmupSteps = 4 }, 3);
        using var step = new CamTrainingStep(network, new CamTrainingOptions { LearningRate = 0.1, ClassifierLearningRate = 1.0 });
        Assert.Equal(0.025, step.Optimizer.Prepare(0, 1000, report: 0), 12);
    }
}
