namespace ReCam.Training;

/// <summary>Training produced a non-finite loss; no checkpoint is written for the diverged step.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException()
    {
    }

    /// <summary>Creates the exception with a message that says what to change.</summary>
    public TrainingDivergedException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public TrainingDivergedException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
