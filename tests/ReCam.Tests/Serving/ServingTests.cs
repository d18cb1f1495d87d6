using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.Imaging;
using ReCam.Tests.MLNet;
using Xunit;

namespace ReCam.Tests.Serving;

/// <summary>The ASP.NET Core serving sample, started on a loopback port with a saved segmenter and sent real and bad images.</summary>
[Collection(CamModelCollection.Name)]
public sealed class ServingTests(CamModelFixture fixture)
{
    [Fact]
    public async Task TheServerSegmentsPostedImagesAndRefusesBadOnes()
    {
        string dir = Directory.CreateTempSubdirectory("recam-serving").FullName;
        Process? server = null;
        try
        {
            // A scoring-only model: the segmenter alone, whose input is a decoded image column (ML.NET cannot store an image column
            // as the model's input schema, so none is saved; the server's input class gives it).
            string zip = Path.Combine(dir, "segmenter.zip");
            fixture.Ml.Model.Save(fixture.SegmenterModel, null, zip);

            int port = FreePort();
            string app = typeof(ServingTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ReCamServingPath").Value!;
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { "exec", app, "--urls", $"http://127.0.0.1:{port}", "--Model", zip, "--MaxImageSide", "100", "--MaxRequestBytes", "200000" })
                start.ArgumentList.Add(a);
            server = Process.Start(start)!;
            var output = new System.Text.StringBuilder();
            server.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            server.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(1) };
            await WaitUntilUp(http, server, output);

            using (var health = JsonDocument.Parse(await http.GetStringAsync("/health")))
                Assert.Equal(["background", .. fixture.ClassNames], health.RootElement.GetProperty("classes").EnumerateArray().Select(e => e.GetString()));

            // A real image: the mask PNG equals what the model gives in process.
            string imagePath = fixture.Rows[0].ImagePath;
            var expected = fixture.SegmenterModel.Transform(fixture.Ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(fixture.Data).Transform(fixture.Data))
                .GetColumn<byte[]>("PredictedMask").First();
            using var response = await http.PostAsync("/segment", Body(await File.ReadAllBytesAsync(imagePath), "image/jpeg"));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()} {output}");
            Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
            var mask = PngLabelReader.Parse(await response.Content.ReadAsByteArrayAsync(), "response");
            Assert.Equal((CamModelFixture.ImageSize, CamModelFixture.ImageSize), (mask.Width, mask.Height));
            Assert.Equal(expected, mask.Values);

            using var json = await http.PostAsync("/segment?format=json", Body(await File.ReadAllBytesAsync(imagePath), "image/jpeg"));
            using (var areas = JsonDocument.Parse(await json.Content.ReadAsStringAsync()))
            {
                Assert.Equal(CamModelFixture.ImageSize, areas.RootElement.GetProperty("width").GetInt32());
                var shares = areas.RootElement.GetProperty("areas").EnumerateObject().ToList();
                Assert.Equal(1.0, shares.Sum(s => s.Value.GetDouble()), 3);
                Assert.All(shares, s => Assert.Contains(s.Name, (string[])["background", .. fixture.ClassNames]));
            }

            // A corrupt image: 400 with a reason; the server carries on.
            using var corrupt = await http.PostAsync("/segment", Body([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], "image/jpeg"));
            Assert.Equal(HttpStatusCode.BadRequest, corrupt.StatusCode);
            Assert.Contains("not a decodable image", await corrupt.Content.ReadAsStringAsync());

            // Larger than the configured side, and larger than the upload limit: 413 with a reason.
            var big = new RgbImage(128, 96, new byte[128 * 96 * 3]);
            using var oversized = await http.PostAsync("/segment", Body(PalettePngWriter.EncodeRgb(big), "image/png"));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, oversized.StatusCode);
            Assert.Contains("128x96", await oversized.Content.ReadAsStringAsync());
            var noise = new byte[300_000];
            new Random(1).NextBytes(noise);
            using var huge = await http.PostAsync("/segment", Body(noise, "image/png"));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

            using var again = await http.PostAsync("/segment", Body(await File.ReadAllBytesAsync(imagePath), "image/jpeg"));
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.False(server.HasExited);
        }
        finally
        {
            if (server is { HasExited: false })
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
            server?.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static ByteArrayContent Body(byte[] bytes, string type)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task WaitUntilUp(HttpClient http, Process server, System.Text.StringBuilder output)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (server.HasExited) Assert.Fail($"the server exited ({server.ExitCode}): {output}");
            try
            {
                using var r = await http.GetAsync("/health");
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(250);
        }
        Assert.Fail($"the server did not answer within 2 minutes: {output}");
    }
}
