using System.CommandLine;
using ReCam.Pipeline;

namespace ReCam.Cli.Commands;

/// <summary>The options of the refinement steps (cam-to-ir-label, ...); defaults are <see cref="IrLabelOptions"/>'s.</summary>
internal sealed class RefinementOptions
{
    public Option<string?> Maps { get; } = new("--maps") { Description = "Seed maps to refine: cam, recam or advcam. Default: recam when make-recam has run, else cam" };
    public Option<double?> ForegroundThreshold { get; } = new("--fg-threshold")
    {
        Description = "Confident-foreground threshold (official 0.35). Default: 0.35/0.21 x the maps' automatic threshold (threshold.json)",
    };
    public Option<double?> BackgroundThreshold { get; } = new("--bg-threshold")
    {
        Description = "Confident-background threshold (official 0.10). Default: 0.10/0.21 x the maps' automatic threshold (threshold.json)",
    };
    public Option<double?> CrfSxy { get; } = new("--crf-sxy")
    {
        Description = "cam-to-ir-label: position standard deviation, in pixels, of the dense CRF's appearance kernel (official 50, set for VOC's 500-px images)",
    };
    public Option<double?> CrfSrgb { get; } = new("--crf-srgb") { Description = "cam-to-ir-label: colour standard deviation of the dense CRF's appearance kernel (official 5)" };
    public Option<string> Preset { get; } = new("--preset")
    {
        Description = "default: thresholds relative to the maps' automatic threshold; official: the official VOC values", DefaultValueFactory = _ => "default",
    };

    public Option<float?> SemSegThreshold { get; } = new("--sem-seg-threshold")
    {
        Description = "make-sem-seg: background plane after the random walk, relative to the image's largest value (official 0.28). Default: the maps' automatic threshold (threshold.json)",
    };
    public Option<double?> Beta { get; } = new("--beta") { Description = "make-sem-seg: affinity exponent (official 10)" };
    public Option<int?> WalkSteps { get; } = new("--walk-steps") { Description = "make-sem-seg: random-walk steps (official 256)" };
    public Option<float?> UncertainMargin { get; } = new("--uncertain-margin")
    {
        Description = "make-sem-seg: write 255 (ignored by train-deeplab) where the winning score leads the runner-up by less than this, relative to the image's largest value; " +
                      $"0 labels every pixel, as the official code. Default {SemSegOptions.DefaultUncertainMargin.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
    };
    public Option<bool?> MaskCrf { get; } = new("--mask-crf")
    {
        Description = "make-sem-seg: snap each pseudo mask to the image's edges with the IR labels' dense CRF (true/false; the official masks have none). " +
                      $"Default {SemSegOptions.DefaultCrf.ToString().ToLowerInvariant()}",
    };
    public Option<double?> IrnLearningRate { get; } = new("--irn-lr") { Description = "run: learning rate of train-irn (train-irn itself takes --lr). Default 0.1" };
    public Option<int?> IrnEpochs { get; } = new("--irn-epochs") { Description = "run: epochs of train-irn (train-irn itself takes --epochs)" };

    public Option<int?> AdvIterations { get; } = new("--adv-iterations")
    {
        Description = $"make-advcam: climbing steps per scale and class, half at scale 0.5 (official {ReCam.Cam.AdvCamOptions.DefaultIterations}); cost grows linearly",
    };
    public Option<double?> AdvStepSize { get; } = new("--adv-step-size") { Description = "make-advcam: step size of the normalised gradient (official 0.08)" };
    public Option<double?> AdvMaskCoefficient { get; } = new("--adv-mask-coefficient") { Description = "make-advcam: weight of the mask-restriction term (official 7)" };
    public Option<double?> AdvMaskThreshold { get; } = new("--adv-mask-threshold") { Description = "make-advcam: restricted region = map above this fraction of its maximum (official 0.5)" };

    /// <summary>Adds the make-advcam climbing options.</summary>
    public void AddAdvCam(Command command)
    {
        foreach (var o in new Option[] { AdvIterations, AdvStepSize, AdvMaskCoefficient, AdvMaskThreshold }) command.Options.Add(o);
    }

    public ReCam.Cam.AdvCamOptions AdvCam(ParseResult r)
    {
        var d = new ReCam.Cam.AdvCamOptions();
        return d with
        {
            Iterations = r.GetValue(AdvIterations) ?? d.Iterations, StepSize = r.GetValue(AdvStepSize) ?? d.StepSize,
            MaskCoefficient = r.GetValue(AdvMaskCoefficient) ?? d.MaskCoefficient, MaskThreshold = r.GetValue(AdvMaskThreshold) ?? d.MaskThreshold,
        };
    }

    /// <summary>Adds the make-sem-seg options (and --maps unless <paramref name="withMaps"/> is false).</summary>
    public void AddSemSeg(Command command, bool withMaps = true)
    {
        foreach (var o in new Option[] { SemSegThreshold, Beta, WalkSteps, UncertainMargin, MaskCrf }) command.Options.Add(o);
        if (withMaps) command.Options.Add(Maps);
    }

    public SemSegOptions SemSeg(ParseResult r)
    {
        var d = new SemSegOptions();
        return d with
        {
            Maps = MapsOf(r), SemSegThreshold = r.GetValue(SemSegThreshold) ?? d.SemSegThreshold, Beta = r.GetValue(Beta) ?? d.Beta,
            Steps = r.GetValue(WalkSteps) ?? d.Steps, UncertainMargin = r.GetValue(UncertainMargin) ?? d.UncertainMargin,
            Crf = r.GetValue(MaskCrf) ?? d.Crf,
        };
    }

    /// <summary>Adds the IR-label options; <paramref name="withPreset"/> false when the command has a --preset already (run).</summary>
    public void AddIrLabel(Command command, bool withPreset = true)
    {
        foreach (var o in new Option[] { Maps, ForegroundThreshold, BackgroundThreshold, CrfSxy, CrfSrgb }) command.Options.Add(o);
        if (withPreset) command.Options.Add(Preset);
    }

    /// <summary>The cam-to-ir-label options; <paramref name="presetOption"/> is the command's --preset when it is shared (run).</summary>
    public IrLabelOptions IrLabel(ParseResult r, Option<string>? presetOption = null)
    {
        var preset = r.GetValue(presetOption ?? Preset)?.Trim().ToLowerInvariant() switch
        {
            "official" => IrLabelOptions.Official,
            "default" or null => new IrLabelOptions(),
            var other => throw new ArgumentException($"--preset '{other}' is unknown; use default or official."),
        };
        return preset with
        {
            Maps = MapsOf(r),
            ForegroundThreshold = r.GetValue(ForegroundThreshold) ?? preset.ForegroundThreshold,
            BackgroundThreshold = r.GetValue(BackgroundThreshold) ?? preset.BackgroundThreshold,
            Crf = preset.Crf with
            {
                BilateralSxy = r.GetValue(CrfSxy) ?? preset.Crf.BilateralSxy, BilateralSrgb = r.GetValue(CrfSrgb) ?? preset.Crf.BilateralSrgb,
            },
        };
    }

    public MapsSource MapsOf(ParseResult r) => r.GetValue(Maps)?.Trim().ToLowerInvariant() switch
    {
        null => MapsSource.Auto,
        "cam" => MapsSource.Cam,
        "recam" => MapsSource.ReCam,
        "advcam" => MapsSource.AdvCam,
        var other => throw new ArgumentException($"--maps '{other}' is unknown; use cam, recam or advcam."),
    };
}
