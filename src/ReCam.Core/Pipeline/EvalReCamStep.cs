using Microsoft.Extensions.Logging;
using ReCam.Evaluation;

namespace ReCam.Pipeline;

/// <summary>eval-recam: <see cref="EvalCamStep"/>'s seed evaluation on the ReCAM maps (<c>cams-recam/</c>).</summary>
public static class EvalReCamStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "eval-recam";

    /// <summary>Evaluates the maps in <c>cams-recam/</c> and writes <c>metrics/eval-recam.json</c>.</summary>
    public static EvaluationReport Run(PipelineSettings settings, EvaluationOptions options, ILogger logger, CancellationToken cancellationToken = default) =>
        EvalCamStep.Evaluate(Name, new WorkFolder(settings.WorkDir).ReCams, settings, options, logger, cancellationToken);
}
