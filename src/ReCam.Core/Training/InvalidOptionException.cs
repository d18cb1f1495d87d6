namespace ReCam.Training;

/// <summary>
/// An option has a value that cannot work. <see cref="OptionName"/> is the name of the property in the core's option
/// types; the command line and the ML.NET Options map it onto their own names (<c>--epochs</c>, <c>Options.Epochs</c>).
/// </summary>
public sealed class InvalidOptionException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public InvalidOptionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InvalidOptionException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public InvalidOptionException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for option <paramref name="optionName"/>.</summary>
    /// <param name="optionName">The core property name, for example <c>Epochs</c>.</param>
    /// <param name="reason">What is wrong, completing "&lt;option&gt; ...", for example "must be at least 1 (got 0)".</param>
    public InvalidOptionException(string optionName, string reason) : base($"{optionName} {reason}.")
    {
        OptionName = optionName;
        Reason = reason;
    }

    /// <summary>The core property name of the option, or null when the message is free text.</summary>
    public string? OptionName { get; }

    /// <summary>What is wrong with the value, without the option's name.</summary>
    public string? Reason { get; }
}
