using System.Diagnostics;
using ReCam.Imaging;

namespace ReCam.Cam;

/// <summary>One image whose maps are wanted: its id (the output file name), its file and its present classes.</summary>
/// <param name="Id">Image id; the maps go to <c>&lt;id&gt;.npz</c>.</param>
/// <param name="ImagePath">The image file.</param>
/// <param name="Keys">0-based indices of the classes present in the image, ascending.</param>
internal sealed record MapsRequest(string Id, string ImagePath, long[] Keys);

/// <summary>Progress of an extraction run.</summary>
/// <param name="Done">Images written so far.</param>
/// <param name="Total">Images to write in this run.</param>
/// <param name="ImagesPerSecond">Throughput so far.</param>
internal sealed record ExtractionProgress(int Done, int Total, double ImagesPerSecond);

/// <summary>
/// The extraction loop of make-cam and make-recam: decodes each image, extracts its maps and writes <c>&lt;id&gt;.npz</c>
/// atomically into a folder. Images whose file exists are skipped (unless forced), so an interrupted run resumes.
/// </summary>
internal static class MapsExtraction
{
    /// <summary>
    /// The requests whose maps are not in <paramref name="folder"/> yet, or only as an unreadable file (all of them when
    /// <paramref name="force"/>).
    /// </summary>
    public static IReadOnlyList<MapsRequest> ToDo(IEnumerable<MapsRequest> requests, string folder, bool force) =>
        requests.Where(r => force || !CamMapsFile.IsComplete(CamMapsFile.PathFor(folder, r.Id))).ToList();

    /// <summary>Extracts and writes the maps of every request into <paramref name="folder"/>; returns how many were written.</summary>
    public static int WriteAll(CamExtractor extractor, IReadOnlyList<MapsRequest> requests, string folder,
        IProgress<ExtractionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < requests.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var request = requests[i];
            var maps = extractor.Extract(ImageDecoder.LoadRgb(request.ImagePath), request.Keys);
            CamMapsFile.Write(CamMapsFile.PathFor(folder, request.Id), maps);
            progress?.Report(new ExtractionProgress(i + 1, requests.Count, (i + 1) / Math.Max(1e-9, watch.Elapsed.TotalSeconds)));
        }
        return requests.Count;
    }
}
