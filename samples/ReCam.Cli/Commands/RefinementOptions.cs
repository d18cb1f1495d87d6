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
    public Option<string> Preset { get; } = new("--preset")
    {
        Description = "default: thresholds relative to the maps' automatic threshold; official: the official VOC values", DefaultValueFactory = _ => "default",
    };

    /// <summary>Adds the IR-label options; <paramref name="withPreset"/> false when the command has a --preset already (run).</summary>
    public void AddIrLabel(Command command, bool withPreset = true)
    {
        foreach (var o in new Option[] { Maps, ForegroundThreshold, BackgroundThreshold }) command.Options.Add(o);
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
