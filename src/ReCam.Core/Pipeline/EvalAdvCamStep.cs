using Microsoft.Extensions.Logging;
using ReCam.Evaluation;

namespace ReCam.Pipeline;

/// <summary>eval-advcam: the seed mIoU of the AdvCAMs (<c>cams-advcam/</c>), as eval-cam; writes <c>metrics/eval-advcam.json</c>.</summary>
public static class EvalAdvCamStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "eval-advcam";

    /// <summary>Runs the step.</summary>
    public static EvaluationReport Run(PipelineSettings settings, EvaluationOptions options, ILogger logger, CancellationToken cancellationToken = default) =>
        EvalCamStep.Evaluate(Name, new WorkFolder(settings.WorkDir).AdvCams, settings, options, logger, cancellationToken);
}
