using ReCam.Imaging;
using ReCam.Serving;

// Configuration (command line, environment or appsettings): Model = the .zip of a scoring-only segmenter (its image column
// "Image" gets the uploaded bytes), MaxImageSide = the longest side accepted (default 4096), MaxRequestBytes = the largest upload (default 20 MB).
var builder = WebApplication.CreateBuilder(args);
string modelPath = builder.Configuration["Model"] ?? throw new ArgumentException("Pass --Model <segmenter .zip> (the ML.NET sample writes one).");
int maxSide = builder.Configuration.GetValue("MaxImageSide", 4096);
long maxBytes = builder.Configuration.GetValue("MaxRequestBytes", 20L * 1024 * 1024);
builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = maxBytes);
builder.Services.AddSingleton(_ => new SegmenterService(modelPath));
var app = builder.Build();
var segmenter = app.Services.GetRequiredService<SegmenterService>(); // loaded once, before the first request

app.MapGet("/health", () => Results.Ok(new { status = "ok", classes = segmenter.ClassNames }));

// POST an image (JPEG or PNG bytes as the body) to /segment: the mask as a VOC-palette PNG (0 background, c+1 class c);
// with ?format=json, the image size and the share of pixels per class instead.
app.MapPost("/segment", async (HttpRequest request, string? format, CancellationToken cancellationToken) =>
{
    using var body = new MemoryStream();
    try
    {
        await request.Body.CopyToAsync(body, cancellationToken);
    }
    catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
    {
        return Results.Problem($"The upload is larger than {maxBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge);
    }
    if (body.Length == 0) return Results.Problem("Send the image as the request body.", statusCode: StatusCodes.Status400BadRequest);
    byte[] bytes = body.ToArray();
    RgbImage image;
    try
    {
        image = ImageDecoder.LoadRgb(new MemoryStream(bytes), "the upload"); // checks it and its size before the network runs
    }
    catch (InvalidDataException e)
    {
        return Results.Problem($"The body is not a decodable image ({e.Message}).", statusCode: StatusCodes.Status400BadRequest);
    }
    if (Math.Max(image.Width, image.Height) > maxSide)
        return Results.Problem($"The image is {image.Width}x{image.Height}; the longest side accepted is {maxSide}.", statusCode: StatusCodes.Status413PayloadTooLarge);
    var mask = segmenter.Segment(bytes);
    if (string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
    {
        var areas = segmenter.ClassNames.Select((name, i) => (name, share: mask.PredictedMaskAreas[i])).Where(a => a.share > 0)
            .ToDictionary(a => a.name, a => Math.Round(a.share, 6));
        return Results.Ok(new { width = mask.PredictedMaskWidth, height = mask.PredictedMaskHeight, areas });
    }
    var png = PalettePngWriter.EncodePalette(new LabelMap(mask.PredictedMaskWidth, mask.PredictedMaskHeight, mask.PredictedMask));
    return Results.File(png, "image/png");
});

app.Run();
