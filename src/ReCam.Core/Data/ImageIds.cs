namespace ReCam.Data;

/// <summary>
/// Image ids are data read from files (split lists, label files), and each one names a file inside the dataset
/// (<c>JPEGImages/&lt;id&gt;.jpg</c>) and one output per step inside the work folder (<c>cams/&lt;id&gt;.npz</c>). An id that is not
/// a plain file name (<c>../../elsewhere/evil</c>, an absolute path) would read or write outside those folders, so every
/// reader refuses it.
/// </summary>
public static class ImageIds
{
    /// <summary>Whether <paramref name="id"/> is a plain file name: not empty, no directory separator, not <c>.</c> or <c>..</c>,
    /// no control character, not rooted.</summary>
    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id != "." && id != ".." && id.IndexOfAny(['/', '\\']) < 0 && !id.Any(char.IsControl) &&
        !Path.IsPathRooted(id) && !id.Contains(':', StringComparison.Ordinal);

    /// <summary>Returns <paramref name="id"/>, or throws <see cref="InvalidDataException"/> naming it and <paramref name="source"/>.</summary>
    /// <param name="id">The id as read.</param>
    /// <param name="source">Where it was read, for the message (a file and line).</param>
    public static string Check(string id, string source)
    {
        if (IsValid(id)) return id;
        string shown = new(id.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        throw new InvalidDataException(
            $"{source}: image id '{shown}' is not a plain file name (ids may not contain '/', '\\', ':', control characters or be '.' or '..'); " +
            "an id names a file inside the dataset and one inside the work folder.");
    }
}
