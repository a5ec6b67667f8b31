using System.Net.Http.Headers;
using System.Text;
using DeployDeck.Domain.History;
using DeployDeck.Infrastructure.Data;
using DeployDeck.Infrastructure.Jobs;
using Microsoft.EntityFrameworkCore;

namespace DeployDeck.Worker.Webhooks;

/// <summary>A delivery that got no 2xx; thrown so Hangfire retries it later.</summary>
public sealed class WebhookDeliveryFailedException(string message) : Exception(message);

/// <summary>Sends one delivery: POST, signed, one attempt recorded per run. Re-entrant: a delivered delivery is not sent again.</summary>
public sealed class WebhookJobs(
    IDbContextFactory<DeployDeckDbContext> dbFactory,
    HttpClient http,
    TimeProvider time,
    ILogger<WebhookJobs> logger) : IWebhookJobs
{
    public async Task DeliverAsync(long deliveryId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var delivery = await db.WebhookDeliveries.FirstOrDefaultAsync(d => d.Id == deliveryId, cancellationToken);
        if (delivery is null || delivery.DeliveredAt is not null)
            return;
        var hook = await db.Webhooks.AsNoTracking().FirstOrDefaultAsync(w => w.Id == delivery.WebhookId, cancellationToken);
        if (hook is null)
            return; // deleted meanwhile

        using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url)
        {
            Content = new StringContent(delivery.Payload, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add(WebhookEvents.SignatureHeader, WebhookEvents.Sign(hook.Secret, delivery.Payload));
        request.Headers.Add(WebhookEvents.EventHeader, delivery.EventType);
        request.Headers.Add(WebhookEvents.DeliveryHeader, delivery.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        int? status = null;
        string? error = null;
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
                error = $"HTTP {status} {response.ReasonPhrase}";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            error = ex is TaskCanceledException ? "timed out" : ex.Message;
        }

        delivery.Attempts++;
        delivery.LastAttemptAt = time.GetUtcNow();
        delivery.LastStatus = status;
        delivery.LastError = error?.Length > 1000 ? error[..1000] : error;
        if (error is null)
            delivery.DeliveredAt = delivery.LastAttemptAt;
        await db.SaveChangesAsync(CancellationToken.None); // the attempt happened: record it even when shutting down

        if (error is not null)
        {
            logger.LogWarning("Webhook {Webhook} delivery {DeliveryId} attempt {Attempt} failed: {Error}", hook.Name, deliveryId, delivery.Attempts, error);
            throw new WebhookDeliveryFailedException($"Delivery {deliveryId} to webhook '{hook.Name}' failed: {error}");
        }

        logger.LogInformation("Webhook {Webhook} delivery {DeliveryId} ({EventType}) answered {Status}", hook.Name, deliveryId, delivery.EventType, status);
    }
}
