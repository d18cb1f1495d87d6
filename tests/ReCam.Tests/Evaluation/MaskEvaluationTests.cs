using System.Text.Json;
using ReCam.Evaluation;
using ReCam.Pipeline;
using Xunit;

namespace ReCam.Tests.Evaluation;

/// <summary>The mask evaluation's JSON and table: the confusion counts and where each class's pixels went.</summary>
public sealed class MaskEvaluationTests
{
    private static MaskEvaluation Evaluate(bool withConfusion)
    {
        var m = new ConfusionMatrix(3);
        // Class "a": 4 pixels, 1 predicted background, 2 right, 1 predicted "b". Class "b": 2 pixels, both right.
        m.Add([0, 0, 1, 1, 1, 1, 2, 2], [0, 1, 0, 1, 1, 2, 2, 2]);
        return new MaskEvaluation("eval-sem-seg", 1, ["background", "a", "b"], m.IoU()) { Confusion = withConfusion ? m : null };
    }

    [Fact]
    public void JsonHoldsTheConfusionCountsRowsTruthColumnsPrediction()
    {
        using var json = JsonDocument.Parse(Evaluate(withConfusion: true).ToJson());
        long[][] rows = [.. json.RootElement.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray())];
        Assert.Equal([[1, 1, 0], [1, 2, 1], [0, 0, 2]], rows);
        Assert.Equal(0.4, json.RootElement.GetProperty("classes").GetProperty("a").GetDouble(), 6); // 2 / (4 + 3 - 2)
    }

    [Fact]
    public void TableNamesTheShareLostToBackgroundAndTheMostConfusedClass()
    {
        string table = Evaluate(withConfusion: true).ToTable();
        string[] lines = table.Split('\n');
        // IoU, share predicted as background, the other class most of its pixels went to.
        Assert.Matches(@"^a\s+40\.00\s+25\.0\s+b 25\.0%$", lines.Single(l => l.StartsWith("a ", StringComparison.Ordinal)).TrimEnd());
        Assert.Matches(@"^b\s+66\.67\s+0\.0$", lines.Single(l => l.StartsWith("b ", StringComparison.Ordinal)).TrimEnd());
        Assert.Matches(@"^background\s+33\.33$", lines.Single(l => l.StartsWith("background", StringComparison.Ordinal)).TrimEnd());
        Assert.StartsWith("mIoU", lines[^1]);
    }

    [Fact]
    public void WithoutConfusionTheJsonAndTableKeepTheirEarlierShape()
    {
        var e = Evaluate(withConfusion: false);
        using var json = JsonDocument.Parse(e.ToJson());
        Assert.False(json.RootElement.TryGetProperty("confusion", out _));
        Assert.DoesNotContain("as bg %", e.ToTable());
    }
}
